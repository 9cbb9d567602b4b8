"""Terminal cells: Korean takes two columns a character, so columns are padded by cells.

Kept apart from ``datakeeper.text``, which the sudo helper inlines and which must
stay standard-library only.
"""

from __future__ import annotations


def padded(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal cells (a Hangul syllable takes
    two), so Korean labels and words line up in columns like English ones."""
    from rich.cells import cell_len  # here, not above: `user --help` must not load rich

    return text + " " * max(0, width - cell_len(text))
