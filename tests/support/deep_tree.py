"""Directory chains deeper than Python's recursion limit and the open-file limit.

``build_chain`` makes ``top/d/d/…/d/leaf`` through descriptors (a path that long
cannot be named in one call). ``run_limited`` runs one of root's walks over
such a chain in a child process whose open-file limit is ``FD_LIMIT``, and
returns what it reported: a walk that recurses, or keeps a descriptor open per
level, fails there (a traceback, or entries it could not open).
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from datakeeper.features.disk.scan import scan_tree
from datakeeper.helper.walk import Cleaner, newest_use
from datakeeper.system import home_move, safe_delete, safewalk, treemerge

DEPTH = 5000
FD_LIMIT = 64
LINK = "d"
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def build_chain(top: Path, depth: int = DEPTH, leaf: str = "leaf") -> None:
    """``depth`` directories ``d`` nested below ``top`` (created), a file ``leaf`` at the
    bottom holding its own name."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, DIR_FLAGS)
    try:
        for _level in range(depth):
            os.mkdir(LINK, 0o755, dir_fd=fd)
            child = os.open(LINK, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf_fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
        os.write(leaf_fd, leaf.encode())
        os.close(leaf_fd)
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Delete ``path`` whatever its depth (``shutil.rmtree`` recurses)."""
    if os.path.lexists(path):
        safe_delete.delete_tree(path.parent, path.name)


def run_limited(scenario: str, root: Path) -> dict:
    """Run ``scenario`` over a tree under ``root`` with at most ``FD_LIMIT`` open files."""
    code = "from tests.support.deep_tree import _child; _child()"
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code, scenario, str(root)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout)


class _Rules:
    """Directories 0750, files 0640, everywhere."""

    def directory(self, info: os.stat_result) -> safewalk.Target:
        return safewalk.KEEP, safewalk.KEEP, 0o750

    def file(self, info: os.stat_result) -> safewalk.Target:
        return safewalk.KEEP, safewalk.KEEP, 0o640

    def child(self, name: str) -> _Rules:
        return self


def _merge(root: Path) -> dict:
    """A deep source merged into a destination where its top directory is a file."""
    src, dst = root / "src", root / "dst"
    build_chain(src / "top")
    dst.mkdir()
    (dst / "top").write_text("a file where the source has a directory\n")
    preview = treemerge.preview_merge(str(src), str(dst))
    merged = treemerge.merge_tree(str(src), str(dst), rescue_name="rescued")
    again = treemerge.preview_merge(str(src), str(dst))
    rescued = safe_delete.measure_tree(dst / "rescued")
    return {
        "preview": asdict(preview),
        "merged": asdict(merged),
        "rescued_files": rescued.files,
        "rescued_dirs": rescued.directories,
        "identical_after": again.identical,
    }


def _archive(root: Path) -> dict:
    """A deep home moved the way an archive across filesystems moves it."""
    home = root / "home" / "bob"
    build_chain(home)
    destination = root / "backup" / "archive" / "bob-x"
    destination.parent.mkdir(parents=True)
    home_move.copy_then_delete(home_move.inspect_home(home), destination)
    usage = safe_delete.measure_tree(destination)
    return {
        "archive": sorted(os.listdir(destination.parent)),
        "home_left": os.path.lexists(home),
        "files": usage.files,
        "directories": usage.directories,
    }


def _permissions(root: Path) -> dict:
    """A deep tree surveyed then repaired."""
    build_chain(root / "tree")
    survey = safewalk.survey_tree(root / "tree", _Rules())
    fixed = safewalk.fix_tree(root / "tree", _Rules())
    return {"survey": survey.as_dict(), "fixed": fixed.as_dict()}


def _helper(root: Path) -> dict:
    """The helper's cleaner removing a deep cache entry, after judging its age."""
    build_chain(root / "cache" / "entry")
    fd = os.open(root / "cache", DIR_FLAGS)
    try:
        entry = os.open("entry", DIR_FLAGS, dir_fd=fd)
        try:
            newest = newest_use(entry)
        finally:
            os.close(entry)
        cleaner = Cleaner(str(root / "cache"), time.time())
        cleaner.remove_tree(fd, "entry", f"{root}/cache/entry")
    finally:
        os.close(fd)
    return {
        "newest_is_finite": newest < float("inf"),
        "removed": len(cleaner.removed),
        "failed": cleaner.failed,
        "left": os.listdir(root / "cache"),
    }


def _disk(root: Path) -> dict:
    """``datakeeper disk``'s scan of a deep tree."""
    build_chain(root / "tree")
    scan = scan_tree(root / "tree", by_owner=True)
    return {"entries": scan.total.entries, "errors": scan.errors, "samples": scan.error_samples}


SCENARIOS = {
    "merge": _merge,
    "archive": _archive,
    "permissions": _permissions,
    "helper": _helper,
    "disk": _disk,
}


def _child() -> None:
    """In the child process: lower the open-file limit, run the scenario, print JSON."""
    scenario, root = sys.argv[1], Path(sys.argv[2])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))
    result = SCENARIOS[scenario](root)
    for entry in os.listdir(root):
        if stat.S_ISDIR(os.lstat(root / entry).st_mode):
            remove(root / entry)
    print(json.dumps(result))
