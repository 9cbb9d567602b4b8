"""What the user sees of their persistent home, entry by entry, and the comparison verify makes.

The walk is ``safe_delete.walk``: descriptor-relative, never following a
link, never crossing into another filesystem; a symlink is recorded as a link
(its target text), never read through, so a link planted to ``/etc`` is
compared as a link. Each entry is keyed by the path the user reaches it by,
relative to their home: in the link layout ``~/x`` is ``P/x``; in the hybrid
layout a listed dotfile ``~/.bashrc`` is ``P/dotfiles/.bashrc`` and every other
``P/x`` is ``~/data/x``. The key is the same before and after a migration, so
"``~/.bashrc`` before is ``~/.bashrc`` after" is a comparison of two
dictionaries: type, mode, owner, group, and the SHA-256 of the content or the
link's target.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from datakeeper.features.users.layouts import DOTFILES_FOLDER as DOTFILES
from datakeeper.system import safe_delete
from datakeeper.system.fs import atomic_write

SAMPLES = 10  # differing paths named in a verify report; the rest are counted
_READ = 1 << 20

# (kind, mode, uid, gid, size, sha256 of the content | link target | "")
Record = tuple[str, int, int, int, int, str]
Manifest = dict[str, Record]


def take_manifest(persistent: Path, layout: str, dotfiles: Iterable[str]) -> Manifest:
    """Every entry under ``persistent`` keyed by its path as the user reaches it."""
    listed = frozenset(dotfiles)
    found: Manifest = {}
    for rel, record in walk_records(persistent):
        key = user_key(rel, layout, listed)
        if key is not None:
            found[key] = record
    return found


def user_key(rel: str, layout: str, dotfiles: frozenset[str]) -> str | None:
    """The path below the user's view of ``rel`` (None: the hybrid ``dotfiles`` folder
    itself, which the layout owns)."""
    if layout != "hybrid" or not (rel == DOTFILES or rel.startswith(f"{DOTFILES}/")):
        return rel
    inner = rel[len(DOTFILES) + 1 :]
    if not inner:
        return None
    return inner if inner.split("/", 1)[0] in dotfiles else rel


def walk_records(top: Path, *, content: bool = True) -> list[tuple[str, Record]]:
    """(path relative to ``top``, record) of ``top`` (as ".") and everything below;
    ``content`` False leaves files unread (a listing for the plan)."""
    info = os.lstat(top)
    records: list[tuple[str, Record]] = [(".", _record(info, ""))]
    device = info.st_dev

    def visit(dir_fd: int, rel: str) -> list[str]:
        enter = []
        for name in sorted(os.listdir(dir_fd)):
            entry = safe_delete.lstat_at(name, dir_fd)
            if entry is None:
                continue
            text = _content(name, dir_fd, entry) if content else ""
            records.append((f"{rel}{name}", _record(entry, text)))
            if stat.S_ISDIR(entry.st_mode) and entry.st_dev == device:
                enter.append(name)
        return list(reversed(enter))  # the walk pops from the end

    safe_delete.walk(safe_delete.open_dir(top), visit)
    return records


def files_below(top: Path) -> list[str]:
    """Every entry under ``top`` (a moved dotfile folder), relative to it, for the plan."""
    if not stat.S_ISDIR(os.lstat(top).st_mode):
        return []
    return [rel for rel, _record_ in walk_records(top, content=False) if rel != "."]


def _record(info: os.stat_result, content: str) -> Record:
    size = info.st_size if stat.S_ISREG(info.st_mode) else 0
    return (
        _kind(info.st_mode),
        stat.S_IMODE(info.st_mode),
        info.st_uid,
        info.st_gid,
        size,
        content,
    )


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "dir"), (stat.S_ISREG, "file"), (stat.S_ISLNK, "link")):
        if test(mode):
            return name
    return "other"


def _content(name: str, dir_fd: int, info: os.stat_result) -> str:
    """The SHA-256 of a regular file, the target of a link; "" for anything else."""
    if stat.S_ISLNK(info.st_mode):
        return os.readlink(name, dir_fd=dir_fd)
    if not stat.S_ISREG(info.st_mode):
        return ""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        if safe_delete.ident(os.fstat(fd)) != safe_delete.ident(info):
            return "changed while read"
        digest = hashlib.sha256()
        while chunk := os.read(fd, _READ):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


@dataclass
class Comparison:
    """How the tree after a migration differs from before (the verify counts)."""

    entries: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every entry the user had is there, identical; additions are allowed."""
        return not self.missing and not self.changed

    def as_dict(self) -> dict:
        return {
            "entries": self.entries,
            "missing": len(self.missing),
            "changed": len(self.changed),
            "added": len(self.added),
            "samples": sorted(self.missing + self.changed)[:SAMPLES],
        }


def compare(before: Manifest, after: Manifest) -> Comparison:
    """Entry by entry: missing after, different after, or new."""
    result = Comparison(entries=len(before))
    for key, record in before.items():
        now = after.get(key)
        if now is None:
            result.missing.append(key)
        elif tuple(now) != tuple(record):
            result.changed.append(key)
    result.added = [key for key in after if key not in before]
    return result


def save_manifest(path: Path, manifest: Manifest) -> None:
    """Keep the manifest beside the journal (root-only, atomic)."""
    atomic_write(path, json.dumps(manifest).encode(), mode=0o600)


def load_manifest(path: Path) -> Manifest:
    """A manifest saved by ``save_manifest``."""
    with open(path, "rb") as handle:
        return {key: tuple(value) for key, value in json.loads(handle.read()).items()}
