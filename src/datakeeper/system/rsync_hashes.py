"""The whole-file hash of each file an rsync copy transferred, read from its output.

rsync checks every file it transfers with a whole-file checksum: the sender
computes it as it reads, the receiver as it writes, and a file whose two sums
differ is sent again. With ``OPTIONS`` (``--checksum-choice=xxh128
--out-format=%C %n``) it prints that checksum and the name of each file it
transferred, one line each: the hash of what it wrote, at no extra cost (the
snapshot's manifest took 2.3-2.7 s to read and hash 300k new files again after
the copy, on two cores; issue 15).

The output goes to a file, not through this process while rsync runs (it would
take CPU from the copy). ``TransferHashes`` then indexes it by folder, in one
pass, and gives each folder's names and hashes when the manifest writer comes
to that folder: memory for one folder's lines, not the whole tree's.

What a line can be trusted for (rsync 3.5's ``receiver.c`` and ``log.c``):

* rsync prints the line after each attempt, also one that failed verification
  and is sent again; such a file has two lines, and neither is used.
* A failed attempt whose retry finds the source gone leaves one line and no new
  file (rsync exits 24, "vanished"). The caller uses the hashes only after a
  copy that exited 0.
* Names are escaped: a byte below 0x20 but tab, and (in the C locale rsync runs
  in) 0x7f and every byte from 0x80, as ``\\#ooo`` (octal); a backslash that
  starts ``\\#`` and three digits is escaped too, so every ``\\#ooo`` in a line
  is an escape and ``unescape`` gives the exact bytes back.
* Lines without a hash (folders, links, hard links made by ``-H``, deletions)
  begin with spaces; anything else rsync may print there does not parse as a
  line and is left out. A file without a usable line is read and hashed by the
  caller, as before.
"""

from __future__ import annotations

import os
import re

# The checksum is named, not left to negotiation, so that it is the manifest's
# (xxh128, as ``xxhash.xxh3_128`` computes it); rsync 3.2.3+ built with xxhash.
OPTIONS = ("--checksum-choice=xxh128", "--out-format=%C %n")
_WIDTH = 32  # hex digits of an xxh128
# Each line of a transferred file, found in a block of lines by one C-level scan.
_LINES = re.compile(rb"^([0-9a-f]{%d}) (.+)$" % _WIDTH, re.MULTILINE)
_ESCAPE = re.compile(rb"\\#([0-7]{3})")
_SPACE = 0x20


def unescape(name: bytes) -> bytes:
    """A name as rsync printed it, back to its bytes (see the module docstring)."""
    if b"\\#" not in name:
        return name
    return _ESCAPE.sub(lambda found: bytes((int(found.group(1), 8) & 0xFF,)), name)


class TransferHashes:
    """The hashes printed into the file ``fd`` (read with ``pread``, so forked
    workers may share it), by folder: ``names(b"users/alice/")`` gives
    {file name: hex digest, or None when rsync printed it twice}."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._ranges: dict[bytes, list[list[int]]] = {}
        self._loaded: dict[bytes, dict[bytes, str | None]] = {}
        self._index()

    def _index(self) -> None:
        """One pass: each folder's stretches of lines, [start, end) in bytes. A folder's
        files are usually printed together, so most folders have one stretch."""
        ranges = self._ranges
        last: bytes | None = None
        stretch: list[int] = [0, 0]
        position = 0
        with open(os.dup(self.fd), "rb") as handle:
            handle.seek(0)
            for line in handle:
                end = position + len(line)
                if line[0] != _SPACE:  # a transferred file (or a line that will not parse)
                    folder = line[_WIDTH + 1 : line.rfind(b"/") + 1]  # b"" at the top
                    if folder == last and stretch[1] == position:
                        stretch[1] = end
                    else:
                        stretch = [position, end]
                        ranges.setdefault(unescape(folder), []).append(stretch)
                        last = folder
                position = end

    def names(self, folder: bytes) -> dict[bytes, str | None]:
        """{name: digest} of the files rsync transferred right in ``folder`` (relative
        to the copy's destination, ending in ``/``; ``b""`` for its top). Read once:
        the same dict comes back on later calls, and the caller may pop from it."""
        found = self._loaded.get(folder)
        if found is None:
            found = self._loaded[folder] = self._read(folder)
        return found

    def _read(self, folder: bytes) -> dict[bytes, str | None]:
        found: dict[bytes, str | None] = {}
        size = len(folder)
        for start, end in self._ranges.pop(folder, ()):
            for digest, path in _LINES.findall(os.pread(self.fd, end - start, start)):
                if b"\\#" in path:
                    path = unescape(path)
                if path.rfind(b"/") + 1 != size or not path.startswith(folder):
                    continue  # in another folder: a line that only looked like this one's
                name = path[size:]
                found[name] = None if name in found else digest.decode("ascii")
        return found
