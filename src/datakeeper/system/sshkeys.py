"""Read SSH public keys safely and fingerprint them with ``ssh-keygen``."""

from __future__ import annotations

import os
from pathlib import Path

from datakeeper.system import commands

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_KEYS_FILE = 1 << 20


def read_user_file(path: Path, limit: int = MAX_KEYS_FILE) -> str | None:
    """Text of a file in a user's tree, never through a symlink; None when absent/unsafe."""
    try:
        fd = os.open(path, READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:  # ELOOP: a symlink was planted
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit).decode("utf-8", errors="replace")


def fingerprints(keys_text: str) -> tuple[str, ...]:
    """SHA256 fingerprints of every valid public key in ``keys_text`` (others ignored)."""
    if not keys_text.strip():
        return ()
    result = commands.run(["ssh-keygen", "-l", "-f", "-"], input=keys_text)
    found = (line.split()[1] for line in result.stdout.splitlines() if len(line.split()) > 1)
    return tuple(sorted(set(found)))


def authorized_fingerprints(home: Path) -> tuple[str, ...]:
    """Fingerprints of ``home/.ssh/authorized_keys`` (empty when there is none)."""
    text = read_user_file(home / ".ssh" / "authorized_keys")
    return fingerprints(text) if text else ()
