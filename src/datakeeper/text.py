"""Names from the filesystem made safe to show: one function for every output.

File names, paths, process names and command lines are chosen by whoever
created them, members included. Printed raw they can drive the admin's
terminal (ESC and CSI sequences clear the screen or fake a line, OSC 52 writes
the clipboard, BEL, CR and newlines forge or hide lines) or, when they are not
valid UTF-8, crash the output. ``printable`` shows every such character as a
visible escape (``\\x1b``, ``\\n``, ``\\xff`` for an undecodable byte) and leaves
ordinary text, Korean and every other printable script, untouched.

Standard library only: the sudo helper inlines this module (see
``datakeeper.features.setup.sudo``).
"""

from __future__ import annotations

import os

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# os.fsdecode turns each byte that is not valid UTF-8 into U+DC80..U+DCFF
# (surrogateescape); showing the byte itself tells the admin what is on disk.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)


def printable(name: str | bytes | os.PathLike, keep: str = "") -> str:
    """``name`` with every control, format or undecodable character escaped visibly.

    C0 and C1 controls, DEL, lone surrogates, bidi overrides and other
    characters ``str.isprintable`` rejects become ``\\n``, ``\\x1b``,
    ``\\u202e``...; an undecodable byte (bytes, or a str from
    ``os.fsdecode``) becomes ``\\xNN``. Characters in ``keep`` (e.g. ``"\\n"``
    for a multi-line text we wrote ourselves) pass through. Backslashes are
    left as they are, so ordinary paths read the same and applying this twice
    changes nothing.
    """
    text = os.fsdecode(os.fspath(name)) if not isinstance(name, str) else name
    if text.isprintable():
        return text  # the common case, checked in C
    return "".join(char if char.isprintable() or char in keep else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
