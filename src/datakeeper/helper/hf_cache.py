"""HuggingFace hub cache: which revisions are unused, removed without following links.

Standard library only (inlined into the sudo helper, see ``cache_walk``). A
revision is removable when no ref points to it and none of its blobs was
accessed or modified since the cutoff (an empty snapshot: its directory's
mtime). When every revision of a repo goes, the repo goes; otherwise its
snapshot directories go, then the blobs only they linked to, as
``huggingface_hub``'s ``delete_revisions`` does. A repo with a fresh
``.incomplete`` blob or a held lock is being downloaded and is left alone; so
is a repo whose layout is not the standard one (a snapshot link that does not
name ``blobs/<hash>``, a ref that is not a small regular file or names no
snapshot, a missing blob). A blob that links into the cache-wide shared store
(``blobs/<xx>/<hash>``) counts with the store file's times; only the repo's
link is removed, the store is left to ``huggingface_hub``.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat

from datakeeper.helper.walk import (
    DAY,
    FILE_FLAGS,
    MAX_DEPTH,
    Cleaner,
    Subdir,
    list_names,
    lock_held,
    lstat_at,
)

HF_REPO = re.compile(r"(models|datasets|spaces)--.+\Z", re.DOTALL)
HF_BLOB = re.compile(r"blobs/([^/]+)\Z")
HF_STORE = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{64})\Z")
PARTIAL_MIN_AGE = DAY  # a newer partial download may still be in progress


def repo_busy(cache_fd: int, repo: str, now: float) -> bool:
    """True when ``repo`` is being downloaded: a fresh ``.incomplete`` blob or a held lock."""
    with Subdir(cache_fd, repo) as repo_fd, Subdir(repo_fd, "blobs") as blobs:
        for name in list_names(blobs):
            info = lstat_at(name, blobs)
            if name.endswith(".incomplete") and info and now - info.st_mtime < PARTIAL_MIN_AGE:
                return True
    with Subdir(cache_fd, ".locks") as locks, Subdir(locks, repo) as repo_locks:
        return any(lock_held(repo_locks, name) for name in list_names(repo_locks))


class HfRepo:
    """One repo of a HuggingFace hub cache, read without following any link."""

    def __init__(self, cleaner: Cleaner, cache_fd: int, name: str) -> None:
        self.cleaner, self.cache_fd, self.name = cleaner, cache_fd, name
        self.shown = f"{cleaner.root}/{name}"

    def remove_unused(self, cutoff: float) -> None:
        """Remove the revisions no ref names and nobody used since ``cutoff``."""
        if repo_busy(self.cache_fd, self.name, self.cleaner.now):
            self.cleaner.skipped.append((self.shown, "a download is in progress"))
            return
        with Subdir(self.cache_fd, self.name) as fd:
            revisions = self.revisions(fd) if fd is not None else None
            refs = self.referenced(fd) if revisions is not None else None
            if revisions is None or refs is None or not refs <= set(revisions):
                self.cleaner.skipped.append((self.shown, "not the standard layout"))
                return
            old = {rev for rev, (_blobs, used) in revisions.items() if used < cutoff} - refs
            if old and old == set(revisions):
                self.cleaner.remove_tree(self.cache_fd, self.name, self.shown)
            elif old:
                self.remove(fd, old, revisions)

    def remove(self, fd: int, old: set[str], revisions: dict) -> None:
        """Snapshot directories first, then the blobs no remaining revision links to."""
        kept = set().union(*(blobs for rev, (blobs, _) in revisions.items() if rev not in old))
        gone = set().union(*(revisions[rev][0] for rev in old)) - kept
        with Subdir(fd, "snapshots") as snapshots:
            for rev in sorted(old):
                self.cleaner.remove_tree(snapshots, rev, f"{self.shown}/snapshots/{rev}")
        with Subdir(fd, "blobs") as blobs:
            for name in sorted(gone):
                info = lstat_at(name, blobs)
                if info is not None and not stat.S_ISDIR(info.st_mode):
                    self.cleaner.unlink(blobs, name, f"{self.shown}/blobs/{name}", info)

    def referenced(self, fd: int) -> set[str] | None:
        """The commit hashes the refs name (``refs/**``), or None when a ref is odd."""
        hashes: set[str] = set()
        info = lstat_at("refs", fd)
        if info is None:
            return hashes
        with Subdir(fd, "refs") as refs:
            try:
                return hashes if refs is not None and read_refs(refs, hashes, 0) else None
            except OSError:
                return None

    def revisions(self, fd: int) -> dict[str, tuple[set[str], float]] | None:
        """Revision -> (blob names its links name, last use), or None for an odd layout."""
        found = {}
        with Subdir(fd, "snapshots") as snapshots, Subdir(fd, "blobs") as blobs:
            if snapshots is None:
                return None
            for rev in list_names(snapshots):
                with Subdir(snapshots, rev) as rev_fd:
                    if rev_fd is None:
                        return None
                    files: list[tuple[str | None, os.stat_result]] = []
                    if not self._files(rev_fd, f"snapshots/{rev}", blobs, files, 0):
                        return None
                    last = max((max(i.st_atime, i.st_mtime) for _n, i in files), default=None)
                    used = last if last is not None else os.fstat(rev_fd).st_mtime
                    found[rev] = ({name for name, _i in files if name}, used)
        return found

    def _files(self, fd: int, where: str, blobs: int | None, out: list, depth: int) -> bool:
        """Collect (blob name or None, blob stat) for each file below ``fd``; False: odd."""
        for name in list_names(fd):
            info = lstat_at(name, fd)
            if info is None or depth >= MAX_DEPTH:
                return False
            if stat.S_ISDIR(info.st_mode):
                with Subdir(fd, name) as sub:
                    if sub is None or not self._files(
                        sub, f"{where}/{name}", blobs, out, depth + 1
                    ):
                        return False
            elif stat.S_ISLNK(info.st_mode):
                target = posixpath.normpath(posixpath.join(where, os.readlink(name, dir_fd=fd)))
                match = HF_BLOB.match(target)
                blob = self.blob_stat(blobs, match.group(1)) if match else None
                if blob is None:
                    return False
                out.append((match.group(1), blob))
            elif stat.S_ISREG(info.st_mode):
                out.append((None, info))  # a real file inside the snapshot
            else:
                return False
        return True

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


def read_refs(fd: int, hashes: set[str], depth: int) -> bool:
    """Add the content of every ref file below ``fd``; False for a link, FIFO, big file."""
    for name in list_names(fd):
        info = lstat_at(name, fd)
        if info is not None and stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH:
            with Subdir(fd, name) as sub:
                if sub is None or not read_refs(sub, hashes, depth + 1):
                    return False
        elif info is not None and stat.S_ISREG(info.st_mode) and info.st_size < 256:
            with os.fdopen(os.open(name, FILE_FLAGS, dir_fd=fd), "rb") as handle:
                hashes.add(handle.read(256).decode("utf-8", "replace"))
        else:
            return False
    return True
