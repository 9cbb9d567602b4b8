"""Small widgets shared by the screens: a status line, text bars, a text panel."""
