"""Merge one directory tree into another as root, without following any symlink.

Used to move a home that was written on the SSD into the persistent home:
every entry missing at the destination is copied (owner, mode and times
kept, symlinks copied as symlinks); an identical entry is skipped; anything
that differs is copied under a ``rescued-…`` folder instead, so nothing at
the destination is overwritten and nothing from the source is lost. Every
copied file is read back and compared by SHA-256 before the merge counts as
done. All operations are relative to directory descriptors opened with
``O_NOFOLLOW``: a symlink planted at the destination is never followed. The
walk (``lockstep``) is a loop holding one descriptor per tree, so a tree of
any depth is merged without recursion or running out of descriptors; the
read-only preview walks and decides exactly as the merge does.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from datakeeper.errors import ActionFailedError
from datakeeper.i18n import _
from datakeeper.system import lockstep
from datakeeper.system.lockstep import Subdir
from datakeeper.system.safe_delete import ident, open_dir_at
from datakeeper.system.saferead import open_regular

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 20


@dataclass
class MergeReport:
    """What a merge did, for the plan output and the action log."""

    copied: int = 0
    identical: int = 0
    rescued: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # sockets, FIFOs, devices
    bytes_copied: int = 0


@dataclass
class _Preview:
    """Walks the source against the destination and decides what the merge does with
    each entry. The preview only counts (a plan); ``_Merge`` acts on the same decisions."""

    report: MergeReport = field(default_factory=MergeReport)

    def walk(self, src_fd: int, dst_fd: int | None, rel: str = "") -> None:
        """Decide every entry below ``src_fd`` (both descriptors are consumed)."""
        lockstep.walk(src_fd, dst_fd, self._entry, self._leave, rel)

    def _entry(self, src_fd: int, dst_fd: int | None, name: str, rel: str) -> Subdir | None:
        path = f"{rel}{name}"
        info = _lstat_at(name, src_fd)
        if info is None:
            return None  # gone since the directory was listed
        existing = _lstat_at(name, dst_fd) if dst_fd is not None else None
        if existing is None:
            return self._copy(name, info, src_fd, dst_fd, path)
        if stat.S_ISDIR(info.st_mode) and stat.S_ISDIR(existing.st_mode):
            return Subdir(name, ident(info), ident(existing))
        if _same(name, info, existing, src_fd, dst_fd):
            self.report.identical += 1
            return None
        return self._rescue(name, info, src_fd, path)

    def _copy(
        self, name: str, info: os.stat_result, src_fd: int, dst_fd: int | None, path: str
    ) -> Subdir | None:
        """The preview counts what would be copied; a directory is walked for its content."""
        if stat.S_ISDIR(info.st_mode):
            return Subdir(name, ident(info), None)
        if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
            self.report.copied += 1
            self.report.bytes_copied += info.st_size if stat.S_ISREG(info.st_mode) else 0
        else:
            self.report.skipped.append(path)
        return None

    def _rescue(self, name: str, info: os.stat_result, src_fd: int, path: str) -> Subdir | None:
        self.report.rescued.append(path)
        return self._copy(name, info, src_fd, None, path)

    def _leave(self, src_fd: int, dst_fd: int | None, sub: Subdir) -> None:
        return None


@dataclass
class _Merge(_Preview):
    """``_Preview``'s decisions, carried out."""

    rescue_name: str = ".rescued"
    on_copied: Callable[[int], None] | None = None  # bytes of each file copied (progress)
    _dst_root_fd: int | None = None
    _rescue_fd: int | None = None
    _rescuing: bool = False

    def run(self, src_fd: int, dst_fd: int) -> MergeReport:
        self._dst_root_fd = dst_fd
        try:
            self.walk(os.dup(src_fd), os.dup(dst_fd))
        finally:
            if self._rescue_fd is not None:
                os.close(self._rescue_fd)
        return self.report

    def _copy(
        self, name: str, info: os.stat_result, src_fd: int, dst_fd: int | None, path: str
    ) -> Subdir | None:
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(name, 0o700, dir_fd=dst_fd)  # root's until its content is in
            made = _lstat_at(name, dst_fd)
            if made is None:
                raise ActionFailedError(_("{path} vanished while it was copied").format(path=path))
            return Subdir(name, ident(info), ident(made), data=info)
        if stat.S_ISREG(mode):
            size = _copy_file(name, info, src_fd, dst_fd)
            self.report.bytes_copied += size
            self.report.copied += 1
            if self.on_copied is not None:
                self.on_copied(size)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(name, dir_fd=src_fd), name, dir_fd=dst_fd)
            os.chown(name, info.st_uid, info.st_gid, dir_fd=dst_fd, follow_symlinks=False)
            self.report.copied += 1
        else:
            self.report.skipped.append(path)
        return None

    def _leave(self, src_fd: int, dst_fd: int | None, sub: Subdir) -> None:
        if isinstance(sub.data, os.stat_result) and dst_fd is not None:
            _finish(dst_fd, sub.data)  # a directory this merge made: attributes last

    def _rescue(self, name: str, info: os.stat_result, src_fd: int, path: str) -> None:
        """Copy a conflicting entry under rescued-…/ keeping its relative path."""
        if self._rescuing:  # a conflict inside a folder this merge just made
            raise ActionFailedError(_("{path} changed while it was copied").format(path=path))
        parent_fd = self._rescue_dir_for(os.path.dirname(path))
        try:
            if _lstat_at(name, parent_fd) is None:
                self._copy_aside(name, info, src_fd, parent_fd, path)
                self.report.rescued.append(path)
        finally:
            os.close(parent_fd)

    def _copy_aside(
        self, name: str, info: os.stat_result, src_fd: int, parent_fd: int, path: str
    ) -> None:
        """Copy into the rescue folder; a directory in a walk of its own, since its new
        parent is not the destination directory the main walk stands in."""
        sub = self._copy(name, info, src_fd, parent_fd, path)
        if sub is None:
            return
        target = open_dir_at(name, parent_fd, sub.target, path)
        self._rescuing = True
        try:
            self.walk(open_dir_at(name, src_fd, sub.source, path), os.dup(target), path + "/")
            _finish(target, info)
        finally:
            self._rescuing = False
            os.close(target)

    def _rescue_dir_for(self, rel_dir: str) -> int:
        owner = os.fstat(self._dst_root_fd)
        if self._rescue_fd is None:
            self._rescue_fd = _private_dir(self.rescue_name, self._dst_root_fd, owner)
        fd = os.dup(self._rescue_fd)
        for part in filter(None, rel_dir.split("/")):
            next_fd = _private_dir(part, fd, owner)
            os.close(fd)
            fd = next_fd
        return fd


def merge_tree(
    src: str, dst: str, *, rescue_name: str, on_copied: Callable[[int], None] | None = None
) -> MergeReport:
    """Merge directory ``src`` into directory ``dst`` (see the module docstring);
    ``on_copied`` hears the size of each file copied."""
    src_fd = os.open(src, DIR_FLAGS)
    try:
        dst_fd = os.open(dst, DIR_FLAGS)
        try:
            return _Merge(rescue_name=rescue_name, on_copied=on_copied).run(src_fd, dst_fd)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def _private_dir(name: str, parent_fd: int, owner: os.stat_result) -> int:
    """Open (creating if needed) a 0700 directory owned like the destination's top."""
    if _lstat_at(name, parent_fd) is None:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    os.fchown(fd, owner.st_uid, owner.st_gid)
    return fd


def _lstat_at(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _same(name: str, info: os.stat_result, other: os.stat_result, src_fd: int, dst_fd: int) -> bool:
    if stat.S_IFMT(info.st_mode) != stat.S_IFMT(other.st_mode):
        return False
    if stat.S_ISLNK(info.st_mode):
        return os.readlink(name, dir_fd=src_fd) == os.readlink(name, dir_fd=dst_fd)
    if stat.S_ISREG(info.st_mode):
        return info.st_size == other.st_size and _digest_at(name, src_fd) == _digest_at(
            name, dst_fd
        )
    return False


def _digest_at(name: str, dir_fd: int) -> str:
    fd = open_regular(name, dir_fd)  # a FIFO or device swapped in is never read
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def _copy_file(name: str, info: os.stat_result, src_fd: int, dst_fd: int) -> int:
    """Copy, fsync, then read back and compare: the copy is verified, not assumed."""
    source = open_regular(name, src_fd)  # a FIFO or device swapped in is never read
    try:
        target = os.open(name, CREATE_FLAGS, 0o600, dir_fd=dst_fd)
        try:
            digest, size = hashlib.sha256(), 0
            while chunk := os.read(source, CHUNK):
                digest.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(target, view) :]
            os.fsync(target)
            _finish(target, info)
        finally:
            os.close(target)
    finally:
        os.close(source)
    if _digest_at(name, dst_fd) != digest.hexdigest():
        raise ActionFailedError(_("copy of {name} does not match its source").format(name=name))
    return size


def _finish(fd: int, info: os.stat_result) -> None:
    """Give the copy the source's owner, mode and times (chown first: it clears set-id)."""
    os.fchown(fd, info.st_uid, info.st_gid)
    os.fchmod(fd, stat.S_IMODE(info.st_mode))
    os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))


def preview_merge(src: str, dst: str) -> MergeReport:
    """What ``merge_tree(src, dst)`` would report if run now, reading only (for a plan).

    ``dst`` may not exist yet: then everything is copied. Entries that differ are
    compared as the merge compares them (size, then SHA-256).
    """
    src_fd = os.open(src, DIR_FLAGS)
    try:
        dst_fd: int | None = os.open(dst, DIR_FLAGS)
    except FileNotFoundError:
        dst_fd = None
    except BaseException:
        os.close(src_fd)
        raise
    preview = _Preview()
    preview.walk(src_fd, dst_fd)  # consumes both descriptors
    return preview.report
