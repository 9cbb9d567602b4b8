"""Sizes for people: one formatting for every command and screen."""

from __future__ import annotations


def human_size(size: float) -> str:
    """1536 -> "1.5 KiB" (binary units, like ``du -h``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
