"""Usage bars drawn with characters, readable without colour."""

from __future__ import annotations


def text_bar(fraction: float, width: int = 20) -> str:
    """``[#####...............]`` for ``fraction`` between 0 and 1 (clamped)."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"
