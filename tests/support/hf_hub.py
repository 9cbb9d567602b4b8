"""A HuggingFace hub cache planted with the real layout, and what a cleanup must leave.

Shared by the unit tests of the cleanup (tests/unit/test_caches_hf.py) and the
sandbox tests, which run these functions inside a disposable server
(``python -c "from tests.support.hf_hub import plant; ..."``).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import huggingface_hub

DAY = 86400
OLD_DAYS, NEW_DAYS = 90, 2


def commit(name: str) -> str:
    """A 40-hex commit hash derived from ``name``."""
    return hashlib.sha1(name.encode()).hexdigest()  # noqa: S324 - a name, not security


def blob(hub: Path, repo: str, content: str, when: float) -> str:
    """``<repo>/blobs/<sha256>`` holding ``content``, last used at ``when``."""
    name = hashlib.sha256(content.encode()).hexdigest()
    path = hub / repo / "blobs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(content)
    os.utime(path, (when, when))
    return name


def snapshot(hub: Path, repo: str, rev: str, files: dict[str, str], when: float) -> None:
    """``snapshots/<rev>/<file>`` -> ``../../blobs/<hash>`` (one more ``..`` per subfolder)."""
    root = hub / repo / "snapshots" / rev
    root.mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
        name = blob(hub, repo, content, when)
        link = root / file_name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("../" * (len(Path(file_name).parts) + 1) + f"blobs/{name}")
    os.utime(root, (when, when))


def ref(hub: Path, repo: str, name: str, rev: str) -> None:
    """``refs/<name>`` holding ``rev`` without a newline, as huggingface_hub writes it."""
    path = hub / repo / "refs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rev)


def plant(hub: Path, now: float | None = None) -> None:
    """Every case the cleanup must tell apart (ages relative to ``now``)."""
    now = time.time() if now is None else now
    old, new = now - OLD_DAYS * DAY, now - NEW_DAYS * DAY
    bert = "models--org--bert"
    snapshot(hub, bert, commit("main"), {"config.json": "v2", "model.bin": "weights"}, new)
    snapshot(hub, bert, commit("old"), {"config.json": "v1", "model.bin": "weights"}, old)
    snapshot(hub, bert, commit("recent"), {"config.json": "v3"}, new)
    ref(hub, bert, "main", commit("main"))
    snapshot(hub, "models--org--gone", commit("alone"), {"a.txt": "only revision"}, old)
    data = "datasets--org--data"
    snapshot(hub, data, commit("pr"), {"train.csv": "rows"}, old)
    ref(hub, data, "refs/pr/1", commit("pr"))
    snapshot(hub, data, commit("nested"), {"sub/dir/part.csv": "old rows"}, old)
    (hub / data / "snapshots" / commit("empty")).mkdir()
    os.utime(hub / data / "snapshots" / commit("empty"), (old, old))
    busy = "models--org--busy"
    snapshot(hub, busy, commit("busy"), {"w.bin": "w"}, old)
    (hub / busy / "blobs" / "0123.incomplete").write_text("downloading now")
    (hub / ".locks" / bert).mkdir(parents=True)
    (hub / ".locks" / bert / "x.lock").write_text("")


def tree(root: Path) -> set[str]:
    """Every path below ``root``, relative; links listed, not followed."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def revision_last_use(revision: Any) -> float:
    """When a revision was last used: its newest blob access or change (empty: its mtime)."""
    times = [max(f.blob_last_accessed, f.blob_last_modified) for f in revision.files]
    return max(times, default=revision.last_modified)


def removable_revisions(info: Any, cutoff: float, skip: set[str]) -> list[tuple[Any, Any]]:
    """(repo, revision) pairs with no ref, unused since ``cutoff``, outside ``skip`` repos:
    the rule the cleanup applies, computed with ``huggingface_hub``'s own scan."""
    return [
        (repo, revision)
        for repo in info.repos
        if repo.repo_path.name not in skip
        for revision in repo.revisions
        if not revision.refs and revision_last_use(revision) < cutoff
    ]


def expected_after(hub: Path, older_than_days: int, now: float) -> set[str]:
    """The tree ``scan_cache_dir`` + ``delete_revisions`` say should remain."""
    info = huggingface_hub.scan_cache_dir(hub)
    busy = {"models--org--busy"}  # a fresh .incomplete: being downloaded
    chosen = removable_revisions(info, now - older_than_days * DAY, busy)
    strategy = info.delete_revisions(*(rev.commit_hash for _repo, rev in chosen))
    gone = {*strategy.blobs, *strategy.refs, *strategy.repos, *strategy.snapshots}
    return {
        path
        for path in tree(hub)
        if not any(hub / path == g or g in (hub / path).parents for g in gone)
    }
