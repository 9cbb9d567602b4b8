"""Read the id ranges from ``/etc/login.defs`` (what useradd itself uses)."""

from __future__ import annotations

from pathlib import Path

LOGIN_DEFS = Path("/etc/login.defs")
DEFAULTS = {"UID_MIN": 1000, "UID_MAX": 60000, "GID_MIN": 1000, "GID_MAX": 60000}


def _value(key: str, path: Path = LOGIN_DEFS) -> int:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return DEFAULTS[key]
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0] == key and fields[1].isdigit():
            return int(fields[1])
    return DEFAULTS[key]


def uid_min() -> int:
    return _value("UID_MIN")


def uid_max() -> int:
    return _value("UID_MAX")
