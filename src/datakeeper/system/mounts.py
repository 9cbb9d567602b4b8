"""Which paths are mount points, from the kernel's own table (``/proc/self/mountinfo``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    target: Path
    fstype: str
    source: str
    options: str


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes.
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def mounts(mountinfo: Path = MOUNTINFO) -> list[Mount]:
    """Every mount of this process's namespace, in mount order."""
    found = []
    for line in mountinfo.read_text(encoding="utf-8").splitlines():
        before, _sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 6 or len(tail) < 2:
            continue
        found.append(Mount(Path(_unescape(fields[4])), tail[0], _unescape(tail[1]), fields[5]))
    return found


def mount_of(path: Path, mountinfo: Path = MOUNTINFO) -> Mount | None:
    """The mount whose target is exactly ``path`` (after resolving symlinks), or None.

    Unlike ``os.path.ismount`` this also sees bind mounts from the same filesystem.
    """
    target = Path(os.path.realpath(path))
    matches = [m for m in mounts(mountinfo) if m.target == target]
    return matches[-1] if matches else None
