"""HuggingFace hub cache cleanup as root, with ``huggingface_hub``'s own cache scan.

``scan_cache_dir`` reports the repos and revisions; a revision is removable
when no ref points to it and it was not used (blob accessed or modified)
since the cutoff (``removable_revisions``, the same rule the sudo helper
applies natively). ``delete_revisions`` turns those into a strategy: the
snapshot, ref, blob and repo paths to delete and the bytes freed.

The strategy is NOT executed with ``huggingface_hub``: its ``execute()``
deletes by path with ``os.remove``/``shutil.rmtree``, and the cache is
writable by every member, so a planted link (``snapshots/<rev>/f ->
/etc/shadow`` makes ``/etc/shadow`` a "blob"; a symlinked repo directory
redirects ``rmtree``) would make root delete outside the cache. Instead each
path must have exactly the shape the cache layout allows (``<repo>/blobs/<name>``,
``<repo>/snapshots/<rev>``, ``<repo>/refs/...``, ``<repo>``) and is removed
with ``cache_walk``'s fd-relative, no-follow code; anything else is refused
and reported. Repos being downloaded (a fresh ``.incomplete`` blob or a held
lock) are left out before the strategy is made.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datakeeper.helper.hf_cache import HF_REPO, repo_busy
from datakeeper.helper.walk import Cleaner, Subdir, lstat_at, open_root
from datakeeper.i18n import _


@dataclass
class HfPlan:
    """What a cleanup of one hub cache would remove."""

    root: Path
    revisions: list[tuple[str, str, int]] = field(default_factory=list)  # repo, rev, bytes
    paths: list[tuple[str, Path]] = field(default_factory=list)  # (kind, path) to delete
    freed: int = 0
    notes: list[str] = field(default_factory=list)


def revision_last_use(revision: Any) -> float:
    """When a revision was last used: its newest blob access or change (empty: its mtime)."""
    times = [max(f.blob_last_accessed, f.blob_last_modified) for f in revision.files]
    return max(times, default=revision.last_modified)


def removable_revisions(info: Any, cutoff: float, skip: set[str]) -> list[tuple[Any, Any]]:
    """(repo, revision) pairs with no ref, unused since ``cutoff``, outside ``skip`` repos."""
    return [
        (repo, revision)
        for repo in info.repos
        if repo.repo_path.name not in skip
        for revision in repo.revisions
        if not revision.refs and revision_last_use(revision) < cutoff
    ]


def plan(root: Path, cutoff: float, now: float) -> HfPlan:
    """Scan ``root`` with ``huggingface_hub`` and plan the removal of unused revisions."""
    # Imported here: it adds ~110 ms to every cache command (measured), and only
    # root's hub cleanup needs it.
    from huggingface_hub import scan_cache_dir

    result = HfPlan(root)
    busy = _busy_repos(root, now)  # opens the root without following links: refuses first
    info = scan_cache_dir(root)
    chosen = removable_revisions(info, cutoff, busy)
    if info.warnings:
        result.notes.append(
            _("{n} repos are not in the standard layout and were left alone").format(
                n=len(info.warnings)
            )
        )
    if busy:
        result.notes.append(_("{n} repos are being downloaded: left alone").format(n=len(busy)))
    if not chosen:
        return result
    strategy = info.delete_revisions(*(revision.commit_hash for _repo, revision in chosen))
    result.revisions = [(repo.repo_id, rev.commit_hash, rev.size_on_disk) for repo, rev in chosen]
    result.freed = strategy.expected_freed_size
    groups = (("snapshot", strategy.snapshots), ("ref", strategy.refs), ("blob", strategy.blobs))
    result.paths = [("repo", path) for path in sorted(strategy.repos)]
    result.paths += [(kind, path) for kind, paths in groups for path in sorted(paths)]
    return result


def _busy_repos(root: Path, now: float) -> set[str]:
    fd = open_root(str(root))
    try:
        names = [entry.name for entry in os.scandir(fd) if HF_REPO.match(entry.name)]
        return {name for name in names if repo_busy(fd, name, now)}
    finally:
        os.close(fd)


def execute(hf_plan: HfPlan, cleaner: Cleaner) -> None:
    """Delete the planned paths inside the cache only, never following a link."""
    fd = open_root(str(hf_plan.root))
    try:
        for kind, path in hf_plan.paths:
            parts = _relative_parts(hf_plan.root, path, kind)
            if parts is None:
                cleaner.failed.append(
                    _("{path}: not where a {kind} belongs in the cache; left alone").format(
                        path=path, kind=kind
                    )
                )
                continue
            _remove(cleaner, fd, parts, str(path))
    finally:
        os.close(fd)


def _relative_parts(root: Path, path: Path, kind: str) -> list[str] | None:
    """``path`` below ``root`` as parts, if it has the shape a ``kind`` may have."""
    normal = Path(os.path.normpath(path))
    if normal != path or not normal.is_relative_to(root):
        return None
    parts = list(normal.relative_to(root).parts)
    if not parts or not HF_REPO.match(parts[0]) or ".." in parts:
        return None
    shapes = {
        "repo": len(parts) == 1,
        "snapshot": len(parts) == 3 and parts[1] == "snapshots",
        "ref": len(parts) >= 3 and parts[1] == "refs",
        "blob": len(parts) == 3 and parts[1] == "blobs",
    }
    return parts if shapes.get(kind) else None


def _remove(cleaner: Cleaner, fd: int, parts: list[str], shown: str) -> None:
    """Open each directory of ``parts[:-1]`` without following links, then remove the last."""
    if len(parts) > 1:
        with Subdir(fd, parts[0]) as child:
            if child is None:
                cleaner.failed.append(_("{path}: a symlink or gone; left alone").format(path=shown))
                return
            _remove(cleaner, child, parts[1:], shown)
        return
    info = lstat_at(parts[0], fd)
    if info is None:
        return  # already gone (a repo removed whole took it along)
    if stat.S_ISDIR(info.st_mode):
        cleaner.remove_tree(fd, parts[0], shown)
    else:
        cleaner.unlink(fd, parts[0], shown, info)
