"""HuggingFace hub cache: which revisions are unused, removed without following links.

Standard library only (inlined into the sudo helper, see ``helper.walk``); root
runs the same code in-process, so members and root get one scan. A
revision is removable when no ref points to it and none of its blobs was
accessed or modified since the cutoff (an empty snapshot: its directory's
mtime). When every revision of a repo goes, the repo goes; otherwise its
snapshot directories go, then the blobs only they linked to, as
``huggingface_hub``'s ``delete_revisions`` does. A repo with a fresh
``.incomplete`` blob or a held lock is being downloaded and is left alone; so
is a repo whose layout is not the standard one (a snapshot link that does not
name ``blobs/<hash>``, a ref that is not a small regular file or names no
snapshot, a missing blob, a FIFO or device, a tree deeper than ``MAX_DEPTH``),
recorded in ``skipped`` with the entry and the reason. The only files ever
opened are refs, through ``read_capped`` (no link, no FIFO or device, at most
``MAX_REF`` bytes), so a member cannot hang the scan or exhaust its memory.
A blob that links into the cache-wide shared store (``blobs/<xx>/<hash>``)
counts with the store file's times; only the repo's link is removed, the store
is left to ``huggingface_hub``. Bytes count as freed only for a removed regular
file with no other link (``Cleaner.unlink``).
"""

from __future__ import annotations

import os
import posixpath
import re
import stat

from datakeeper.helper.messages import _
from datakeeper.helper.walk import (
    DAY,
    MAX_DEPTH,
    Cleaner,
    Subdir,
    list_names,
    lock_held,
    lstat_at,
    printable,
)
from datakeeper.system.saferead import UnsafeFileError, kind_of, read_capped

HF_REPO = re.compile(r"(models|datasets|spaces)--.+\Z", re.DOTALL)
HF_BLOB = re.compile(r"blobs/([^/]+)\Z")
HF_STORE = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{64})\Z")
PARTIAL_MIN_AGE = DAY  # a newer partial download may still be in progress
MAX_REF = 256  # a ref holds a 40-hex commit hash; anything bigger is not one


def repo_busy(cache_fd: int, repo: str, now: float) -> bool:
    """True when ``repo`` is being downloaded: a fresh ``.incomplete`` blob or a held lock."""
    with Subdir(cache_fd, repo) as repo_fd, Subdir(repo_fd, "blobs") as blobs:
        for name in list_names(blobs):
            info = lstat_at(name, blobs)
            if name.endswith(".incomplete") and info and now - info.st_mtime < PARTIAL_MIN_AGE:
                return True
    with Subdir(cache_fd, ".locks") as locks, Subdir(locks, repo) as repo_locks:
        return any(lock_held(repo_locks, name) for name in list_names(repo_locks))


class OddLayout(Exception):
    """A repo not in the standard layout; the message says which entry and why."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{printable(where)}: {why}" if where else why)


class HfRepo:
    """One repo of a HuggingFace hub cache, read without following any link.

    No file in it is opened except the refs, and those only through
    ``read_capped`` (no link, no FIFO or device, at most ``MAX_REF`` bytes).
    """

    def __init__(self, cleaner: Cleaner, cache_fd: int, name: str) -> None:
        self.cleaner, self.cache_fd, self.name = cleaner, cache_fd, name
        self.shown = f"{cleaner.root}/{name}"

    def remove_unused(self, cutoff: float) -> None:
        """Remove the revisions no ref names and nobody used since ``cutoff``.

        A repo being downloaded, or not in the standard layout, is left alone
        and recorded in ``skipped`` with the reason.
        """
        if repo_busy(self.cache_fd, self.name, self.cleaner.now):
            self.cleaner.skipped.append((self.shown, _("a download is in progress")))
            return
        with Subdir(self.cache_fd, self.name) as fd:
            try:
                if fd is None:
                    raise OddLayout("", _("a symbolic link or not a directory"))
                revisions = self.revisions(fd)
                refs = self.referenced(fd, set(revisions))
            except OddLayout as odd:
                why = _("not the standard layout: {why}").format(why=odd)
                self.cleaner.skipped.append((self.shown, why))
                return
            old = {rev for rev, (_blobs, used) in revisions.items() if used < cutoff} - refs
            if old and old == set(revisions):
                self.cleaner.remove_tree(self.cache_fd, self.name, self.shown)
            elif old:
                self.remove(fd, old, revisions)

    def remove(self, fd: int, old: set[str], revisions: dict) -> None:
        """Snapshot directories first, then the blobs no remaining revision links to."""
        kept = set().union(*(blobs for rev, (blobs, _used) in revisions.items() if rev not in old))
        gone = set().union(*(revisions[rev][0] for rev in old)) - kept
        with Subdir(fd, "snapshots") as snapshots:
            for rev in sorted(old):
                self.cleaner.remove_tree(snapshots, rev, f"{self.shown}/snapshots/{rev}")
        with Subdir(fd, "blobs") as blobs:
            for name in sorted(gone):
                info = lstat_at(name, blobs)
                if info is not None and not stat.S_ISDIR(info.st_mode):
                    self.cleaner.unlink(blobs, name, f"{self.shown}/blobs/{name}", info)

    def referenced(self, fd: int, revisions: set[str]) -> set[str]:
        """The commit hashes the refs name (``refs/**``); ``OddLayout`` when a ref is odd
        or names no snapshot."""
        hashes: dict[str, str] = {}
        if lstat_at("refs", fd) is None:
            return set()
        with Subdir(fd, "refs") as refs:
            if refs is None:
                raise OddLayout("refs", _("a symbolic link or not a directory"))
            read_refs(refs, "refs", hashes, 0)
        for where, rev in sorted(hashes.items()):
            if rev not in revisions:
                raise OddLayout(where, _("names no snapshot"))
        return set(hashes.values())

    def revisions(self, fd: int) -> dict[str, tuple[set[str], float]]:
        """Revision -> (blob names its links name, last use); ``OddLayout`` when odd."""
        found = {}
        with Subdir(fd, "snapshots") as snapshots, Subdir(fd, "blobs") as blobs:
            if snapshots is None:
                missing = _("missing, a symbolic link or not a directory")
                raise OddLayout("snapshots", missing)
            for rev in list_names(snapshots):
                with Subdir(snapshots, rev) as rev_fd:
                    if rev_fd is None:
                        odd = _("a symbolic link or not a directory")
                        raise OddLayout(f"snapshots/{rev}", odd)
                    files: list[tuple[str | None, os.stat_result]] = []
                    self._files(rev_fd, f"snapshots/{rev}", blobs, files, 0)
                    last = max((max(i.st_atime, i.st_mtime) for _n, i in files), default=None)
                    used = last if last is not None else os.fstat(rev_fd).st_mtime
                    found[rev] = ({name for name, _i in files if name}, used)
        return found

    def _files(self, fd: int, where: str, blobs: int | None, out: list, depth: int) -> None:
        """Collect (blob name or None, blob stat) for each file below ``fd``."""
        for name in list_names(fd):
            info = lstat_at(name, fd)
            here = f"{where}/{name}"
            if info is None:
                raise OddLayout(here, _("changed while it was read"))
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 >= MAX_DEPTH:
                    raise OddLayout(here, _("deeper than {n} levels").format(n=MAX_DEPTH))
                with Subdir(fd, name) as sub:
                    if sub is None:
                        raise OddLayout(here, _("changed while it was read"))
                    self._files(sub, here, blobs, out, depth + 1)
            elif stat.S_ISLNK(info.st_mode):
                out.append(self._linked_blob(fd, name, here, blobs))
            elif stat.S_ISREG(info.st_mode):
                out.append((None, info))  # a real file inside the snapshot
            else:
                raise OddLayout(here, kind_of(info.st_mode))

    def _linked_blob(self, fd: int, name: str, here: str, blobs: int | None) -> tuple:
        """(blob name, blob stat) of the snapshot link ``name``; ``OddLayout`` if it
        names no blob of this repo."""
        where = posixpath.dirname(here)
        target = posixpath.normpath(posixpath.join(where, os.readlink(name, dir_fd=fd)))
        match = HF_BLOB.match(target)
        if match is None:
            raise OddLayout(here, _("links outside the repo's blobs"))
        blob = self.blob_stat(blobs, match.group(1))
        if blob is None:
            raise OddLayout(here, _("its blob is missing or not a regular file"))
        return match.group(1), blob

    def blob_stat(self, blobs: int | None, name: str) -> os.stat_result | None:
        """The blob's stat: a regular file, or a link into the cache's shared blob store."""
        info = lstat_at(name, blobs)
        if info is None or stat.S_ISREG(info.st_mode):
            return info
        if not stat.S_ISLNK(info.st_mode):
            return None
        link = os.readlink(name, dir_fd=blobs)
        target = posixpath.normpath(posixpath.join(self.name, "blobs", link))
        store = HF_STORE.match(target)
        if store is None:
            return None
        with Subdir(self.cache_fd, "blobs") as shared, Subdir(shared, store.group(1)) as sub:
            found = lstat_at(store.group(2), sub)
        return found if found is not None and stat.S_ISREG(found.st_mode) else None


def read_refs(fd: int, where: str, hashes: dict[str, str], depth: int) -> None:
    """Map each ref file below ``fd`` to its content; ``OddLayout`` for a link, a FIFO,
    a device, a file over ``MAX_REF`` bytes, or refs nested too deep."""
    for name in list_names(fd):
        info = lstat_at(name, fd)
        here = f"{where}/{name}"
        if info is not None and stat.S_ISDIR(info.st_mode):
            if depth + 1 >= MAX_DEPTH:
                raise OddLayout(here, _("deeper than {n} levels").format(n=MAX_DEPTH))
            with Subdir(fd, name) as sub:
                if sub is None:
                    raise OddLayout(here, _("changed while it was read"))
                read_refs(sub, here, hashes, depth + 1)
            continue
        try:
            hashes[here] = read_capped(name, MAX_REF, dir_fd=fd).decode("utf-8", "replace")
        except UnsafeFileError as unsafe:
            raise OddLayout(here, unsafe.reason) from None
        except OSError as error:
            raise OddLayout(here, error.strerror or _("unreadable")) from None
