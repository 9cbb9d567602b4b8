"""Read SSH public keys safely and fingerprint them with ``ssh-keygen``."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.system import commands
from datakeeper.system.saferead import open_regular

MAX_KEYS_FILE = 1 << 20


def read_user_file(path: Path, limit: int = MAX_KEYS_FILE) -> str | None:
    """Text of a file in a user's tree, never through a symlink; None when absent/unsafe."""
    try:
        fd = open_regular(path)
    except OSError:  # absent, or a planted symlink, FIFO or device: never read
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


# -- parsing key lines (no subprocess) -----------------------------------------

KEY_TYPE_PREFIX = re.compile(r"(ssh|ecdsa|sk)-[A-Za-z0-9@._+-]+")
KNOWN_OPTIONS = frozenset(
    {
        *("agent-forwarding", "cert-authority", "command", "environment", "expiry-time"),
        *("from", "no-agent-forwarding", "no-port-forwarding", "no-pty", "no-touch-required"),
        *("no-user-rc", "no-x11-forwarding", "permitlisten", "permitopen", "port-forwarding"),
        *("principals", "pty", "restrict", "tunnel", "user-rc", "verify-required"),
        "x11-forwarding",
    }
)
OPTION = re.compile(r'(?:[^,"]|"(?:\\.|[^"\\])*")+')


@dataclass(frozen=True)
class KeyLine:
    """One ``authorized_keys`` entry split the way sshd reads it."""

    options: str
    type: str
    blob: str
    comment: str

    @property
    def fingerprint(self) -> str:
        """``SHA256:…`` of the key data, as ``ssh-keygen -l`` prints it."""
        return blob_fingerprint(self.blob)


def split_options(line: str) -> tuple[str, str]:
    """Split ``line`` at the first whitespace outside double quotes: (options, rest).

    Raises ``ValueError`` when a quote is not closed.
    """
    quoted = escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            return line[:index], line[index:].strip()
    if quoted:
        raise ValueError("unterminated quote")
    return line, ""


def parse_key_line(line: str) -> KeyLine | None:
    """The key in one ``authorized_keys`` line (options allowed), or None for others."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    options, rest = "", line
    if not KEY_TYPE_PREFIX.fullmatch(line.split()[0]):
        try:
            options, rest = split_options(line)
        except ValueError:
            return None
    tokens = rest.split()
    if len(tokens) < 2 or not KEY_TYPE_PREFIX.fullmatch(tokens[0]):
        return None
    if blob_fingerprint(tokens[1]) == "":
        return None
    return KeyLine(options, tokens[0], tokens[1], " ".join(tokens[2:]))


def blob_fingerprint(blob: str) -> str:
    """``SHA256:`` fingerprint of base64 key data; empty when it is not base64."""
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return ""
    digest = base64.b64encode(hashlib.sha256(raw).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def option_names(options: str) -> list[str]:
    """Names of the comma-separated ``options`` of a key line, ``name=`` when valued."""
    names = []
    for part in OPTION.findall(options):
        name, equals, _value = part.partition("=")
        names.append(name.lower() + equals)
    return names


def keygen_fingerprint(key_type: str, blob: str) -> tuple[int, str] | None:
    """(bits, ``SHA256:…``) as ``ssh-keygen -l`` reads the key; None when it refuses it."""
    try:
        result = commands.run(["ssh-keygen", "-l", "-f", "-"], input=f"{key_type} {blob}\n")
    except commands.CommandFailed:
        return None
    parts = result.stdout.split()
    return int(parts[0]), parts[1]


# -- files root reads and writes -----------------------------------------------

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; ``IsADirectoryError`` for anything not a file.

    Opened non-blocking so that a FIFO or a device never hangs the caller.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(21, "not a regular file")
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def store_secret(directory: Path, names: list[str], data: bytes) -> str:
    """Write ``data`` (0600) under the first of ``names`` that does not exist yet.

    ``directory`` is created 0700 when missing; it must be a real directory
    owned by us (mode tightened to 0700). Nothing is ever overwritten.
    """
    dir_fd = _open_private_dir(directory)
    try:
        for name in names:
            try:
                fd = os.open(name, NEW_FILE_FLAGS, 0o600, dir_fd=dir_fd)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(fd, 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(fd)
            os.fsync(dir_fd)
            return name
    finally:
        os.close(dir_fd)
    raise ConflictError(
        _("{path}: every name for this key is taken; clean it up").format(path=directory)
    )


def _open_private_dir(directory: Path) -> int:
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory, 0o700)
    try:
        fd = os.open(directory, DIR_FLAGS)
    except OSError as error:
        raise ConflictError(
            _("{path}: not a real directory ({why}); move it away and run again").format(
                path=directory, why=error.strerror
            )
        ) from None
    info = os.fstat(fd)
    if info.st_uid != os.geteuid():
        os.close(fd)
        raise ConflictError(
            _("{path}: owned by uid {uid}, not by us; move it away and run again").format(
                path=directory, uid=info.st_uid
            )
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.fchmod(fd, 0o700)
    return fd
