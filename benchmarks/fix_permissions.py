"""Benchmark: datakeeper's safe permission repair vs chgrp -R + chmod -R g+rX + find g+s.

Builds two identical trees of nested folders and files, then in the same run
repairs one copy with datakeeper's fd-relative walk (the ``--shared``
rules) and the other with the classic commands

    chgrp -R GROUP T; chmod -R g+rX T; find T -type d -exec chmod g+s {} +

(``g+rX``, not ``g+rwX``: the repair never adds group write on its own, and
the trees here are root's, which never get it) and prints both times and the
ratio, then checks that both trees ended up identical (group and mode of every
entry). Three scenarios:

- drift: a shared tree in order, except one folder in ten that a member wrote
  with umask 077 (dirs 0700, files 0600, their own group): the usual case;
- worst case: every entry of the tree was written that way;
- repaired: nothing to change (a scheduled run on a healthy tree).

The classic commands change every entry blindly; datakeeper looks first and
changes only what differs, but each change costs more system calls (open,
fstat, fchown, fchmod, close instead of fchownat, fchmodat) because it must
not be tricked by a swapped entry: so it wins when little is wrong and is
slower when everything is.

Run as root (chgrp to any group):  .venv/bin/python benchmarks/fix_permissions.py
Options: --files N (default 120000), --dir PATH (default: a temp dir), --group NAME,
--cold (drop the page cache before each command).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import grp
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from datakeeper.features.permissions import SharedRules
from datakeeper.system.safewalk import fix_tree

FILES_PER_DIR = 40
DIRS_PER_DIR = 6


def build_tree(top: Path, files: int) -> int:
    """Nested folders (fan-out 6) holding ``files`` small files, all private (umask 077)."""
    os.umask(0o077)
    top.mkdir(mode=0o700)
    queue, made, dirs = [top], 0, 1
    while made < files:
        parent = queue.pop(0)
        for index in range(min(FILES_PER_DIR, files - made)):
            mode = 0o700 if index % 10 == 0 else 0o600
            fd = os.open(parent / f"file{index}.bin", os.O_WRONLY | os.O_CREAT, mode)
            os.write(fd, b"x" * (index % 7))
            os.close(fd)
            made += 1
        for index in range(DIRS_PER_DIR):
            child = parent / f"dir{index}"
            child.mkdir(mode=0o700)
            queue.append(child)
            dirs += 1
    os.umask(0o022)
    return made + dirs


def spoil(top: Path, every: int, gid: int) -> None:
    """Make one directory in ``every`` (and its files) private again, as umask 077 does."""
    for index, (dirpath, _dirnames, filenames) in enumerate(os.walk(top)):
        if index % every:
            continue
        os.chown(dirpath, -1, gid)
        os.chmod(dirpath, 0o700)
        for name in filenames:
            path = os.path.join(dirpath, name)
            os.chown(path, -1, gid)
            os.chmod(path, 0o600)


def run_datakeeper(top: Path, gid: int) -> tuple[float, dict]:
    start = time.perf_counter()
    rules = SharedRules(gid, "bench", frozenset(), frozenset())
    report = fix_tree(top, rules)
    return time.perf_counter() - start, dict(report.counts)


def run_classic(top: Path, group: str) -> float:
    start = time.perf_counter()
    subprocess.run(["chgrp", "-R", group, str(top)], check=True)
    subprocess.run(["chmod", "-R", "g+rX", str(top)], check=True)
    find = ["find", str(top), "-type", "d", "-exec", "chmod", "g+s", "{}", "+"]
    subprocess.run(find, check=True)
    return time.perf_counter() - start


def tree_state(top: Path) -> dict[str, tuple[int, int]]:
    state = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [".", *dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            state[os.path.relpath(path, top)] = (info.st_gid, stat.S_IMODE(info.st_mode))
    return state


def settle(cold: bool) -> None:
    """Same starting point for both: dirty pages written; with ``cold``, caches dropped."""
    os.sync()
    if cold:
        with contextlib.suppress(OSError):
            Path("/proc/sys/vm/drop_caches").write_text("3\n")


def compare(ours: Path, theirs: Path, group: str, gid: int, label: str, *, cold: bool) -> bool:
    """Repair both identical trees, print the figures; True if they end up identical."""
    settle(cold)
    classic = run_classic(theirs, group)
    settle(cold)
    elapsed, counts = run_datakeeper(ours, gid)
    same = tree_state(ours) == tree_state(theirs)
    print(f"{label}:")
    print(f"  chgrp -R + chmod -R g+rX + find -exec chmod g+s: {classic:8.3f} s")
    print(f"  datakeeper (safe walk):                           {elapsed:8.3f} s")
    print(f"  ratio classic / datakeeper:                       {classic / elapsed:8.2f}x")
    print(f"  datakeeper changed {counts.get('changed', 0)} entries; trees identical: {same}")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=120_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--group", default="users")
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each")
    args = parser.parse_args()
    gid = grp.getgrnam(args.group).gr_gid
    base = Path(tempfile.mkdtemp(prefix="dk-bench-", dir=args.dir))
    try:
        ours, theirs = base / "ours", base / "theirs"
        entries = build_tree(ours, args.files)
        build_tree(theirs, args.files)  # the same generator: an identical copy
        print(f"tree: {entries} entries ({args.files} files) in {base}, group {args.group}")
        run = functools.partial(compare, ours, theirs, args.group, gid, cold=args.cold)
        results = [run("worst case: every entry wrong"), run("repaired: nothing to change")]
        for tree in (ours, theirs):
            spoil(tree, 10, os.getgid())
        results.append(run("drift: one folder in ten private"))
        return 0 if all(results) else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
