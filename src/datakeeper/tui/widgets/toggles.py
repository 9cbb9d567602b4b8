"""Check boxes, radio buttons and a checklist that say their state in text: [x] / ( ).

Textual's own draw the same glyph on and off and tell them apart by colour
only; these stay readable on a terminal without colour (and in screenshots).
"""

from __future__ import annotations

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, OptionList, RadioButton, SelectionList
from textual.widgets.option_list import OptionDoesNotExist


class _Marked:
    """Mixin: no button glyph; the label starts with ON or OFF instead."""

    BUTTON_LEFT = BUTTON_INNER = BUTTON_RIGHT = ""
    ON = OFF = ""

    def _marked(self, value: bool) -> Content:
        return Content(f"{self.ON if value else self.OFF} {self.text}")

    def watch_value(self) -> None:
        """Keep the mark in the label in step with the value."""
        self.label = self._marked(self.value)
        super().watch_value()


class MarkedCheckbox(_Marked, Checkbox):
    """A check box labelled ``[x] text`` or ``[ ] text``."""

    ON, OFF = "[x]", "[ ]"

    def __init__(self, text: str, value: bool = False, **kwargs) -> None:
        self.text = text
        super().__init__(self._marked(value), value, **kwargs)


class MarkedRadioButton(_Marked, RadioButton):
    """A radio button labelled ``(*) text`` or ``( ) text``; ``text`` is its plain label."""

    ON, OFF = "(*)", "( )"

    def __init__(self, text: str, value: bool = False, **kwargs) -> None:
        self.text = text
        super().__init__(self._marked(value), value, **kwargs)


class Checklist(SelectionList):
    """A SelectionList whose lines start with ``[x]`` or ``[ ]``."""

    def render_line(self, y: int) -> Strip:
        """The option's line with its mark in front (instead of a coloured box)."""
        line = OptionList.render_line(self, y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return line
        mark = "[x] " if option.value in self.selected else "[ ] "
        style = next(iter(line)).style if line.cell_length else None
        return Strip([Segment(mark, style), *line])
