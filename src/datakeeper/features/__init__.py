"""Features compose resources into what admins and researchers ask for."""
