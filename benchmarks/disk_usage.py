"""Benchmark: datakeeper's per-user disk totals against ``du -s`` on the same tree.

Run as root (files are chown-ed to several users)::

    sudo .venv/bin/python benchmarks/disk_usage.py [--files 300000] [--users 6] [--dir /var/tmp]

It generates a tree under a temporary directory on the real disk (``--dir``,
default ``/var/tmp``; not tmpfs): ``users/<uNN>/…`` with nested folders, small
and sparse files, hard links and symlinks, each user's part owned by its own
numeric uid. Then, with the page cache warm (one untimed pass first), it times
``--rounds`` rounds, each running in turn

* du: ``du -s -x --block-size=1`` on each user folder, one process each;
* datakeeper as ``datakeeper disk`` scans the homes: ``scan_trees`` with its
  default of one forked process per CPU (at most 8), in this process's
  Python (start-up not counted, as du's exec is not either, nearly);
* the same scanner forced to one process, the pure single-core figure;

and reports the median of each. **ratio = median datakeeper time / median du
time**: 1.0 means as fast as du, 1.5 means 50 % slower; the aim is <= 1.5.
It also times ``datakeeper --json disk`` end to end (a real CLI run, Python
start-up and imports included) for information. Every user's total must
equal du's to the byte (du's 1-byte blocks) in every round, or it fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from datakeeper.features.disk.scan import ScanRequest, default_jobs, scan_trees

FIRST_UID = 40001


def generate(users_dir: Path, files: int, users: int, seed: int = 6) -> None:
    """Nested folders per user: ~40 % empty-ish tiny files, some 4-64 KiB, a few sparse."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    per_user = files // users
    for number in range(users):
        uid = FIRST_UID + number
        home = users_dir / f"u{number:02d}"
        _generate_home(home, per_user, uid, rng)


def _generate_home(home: Path, count: int, uid: int, rng: random.Random) -> None:
    made = 0
    chunk = b"x" * 65536
    folders = _folders(home, count)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        folder = folders[index % len(folders)]
        path = folder / f"f{index:06d}.dat"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o664)
        try:
            roll = rng.random()
            if roll < 0.4:
                os.write(fd, chunk[: rng.randrange(0, 200)])
            elif roll < 0.98:
                os.write(fd, chunk[: rng.randrange(4096, 65536)])
            else:  # sparse: a large length, one block written
                os.ftruncate(fd, 64 * 1024 * 1024)
                os.pwrite(fd, b"end", 64 * 1024 * 1024 - 3)
            os.fchown(fd, uid, uid)
        finally:
            os.close(fd)
        made += 1
        if index % 500 == 0:  # hard links (counted once) and symlinks (never followed)
            os.link(path, folder / f"h{index:06d}.dat")
            os.symlink("/usr", folder / f"s{index:06d}")
    for path in [home, *(p for p in home.rglob("*") if p.is_dir() and not p.is_symlink())]:
        os.chown(path, uid, uid)
    assert made == count


def _folders(home: Path, count: int) -> list[Path]:
    """About 100 files per folder, three levels deep, like projects/runs/step dirs."""
    wanted = max(count // 100, 1)
    folders = []
    for a in range(10):
        for b in range(10):
            for c in range(max(wanted // 100, 1)):
                folders.append(home / f"proj{a}" / f"run{b}" / f"step{c}")
    return folders


def cpu_seconds() -> float:
    """User + system time of this process and of its children that ended."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def time_datakeeper(homes: list[Path], jobs: int | None) -> tuple[float, float, dict[str, int]]:
    """``scan_trees`` as ``datakeeper disk`` calls it (``jobs`` None: its default)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    scans = scan_trees([ScanRequest(home) for home in homes], jobs=jobs)
    totals = {scan.top.name: scan.total.bytes for scan in scans}
    return time.perf_counter() - start, cpu_seconds() - cpu, totals


def time_du(homes: list[Path]) -> tuple[float, float, dict[str, int]]:
    totals = {}
    start, cpu = time.perf_counter(), cpu_seconds()
    for home in homes:
        out = subprocess.run(
            ["du", "-s", "-x", "--block-size=1", str(home)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        totals[home.name] = int(out.split()[0])
    return time.perf_counter() - start, cpu_seconds() - cpu, totals


def time_cli(base: Path) -> float:
    config = base / "bench.toml"
    config.write_text(
        f'[storage]\ndata_root = "{base}"\nbackup_root = ""\n\n'
        "[conda]\nenabled = false\n\n[uv]\nenabled = false\n"
    )
    argv = [sys.executable, "-m", "datakeeper", "--config", str(config), "--json", "disk"]
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(f"(CLI run failed: {result.stderr.strip()})")
        return float("nan")
    json.loads(result.stdout)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300_000)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--keep", action="store_true", help="Leave the generated tree.")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the tree is chown-ed to several users", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="dk-bench-", dir=args.dir))
    try:
        return run(base, args)
    finally:
        if not args.keep:
            shutil.rmtree(base)


def run(base: Path, args: argparse.Namespace) -> int:
    users_dir = base / "users"
    start = time.perf_counter()
    generate(users_dir, args.files, args.users)
    homes = sorted(users_dir.iterdir())
    entries = sum(1 for _ in users_dir.rglob("*"))
    made = time.perf_counter() - start
    print(f"tree: {base}, {entries} entries for {len(homes)} users, made in {made:.1f} s")
    parallel = default_jobs(len(homes))
    modes = {f"datakeeper, {parallel} processes (default)": None, "datakeeper, 1 process": 1}
    time_du(homes)  # warm the page cache, untimed
    times: dict[str, list[float]] = {name: [] for name in [*modes, "du"]}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    for _ in range(args.rounds):
        elapsed, used, du_totals = time_du(homes)
        times["du"].append(elapsed)
        cpu["du"].append(used)
        for name, jobs in modes.items():
            elapsed, used, totals = time_datakeeper(homes, jobs)
            times[name].append(elapsed)
            cpu[name].append(used)
            assert totals == du_totals, f"totals differ:\n{totals}\n{du_totals}"
    print(f"per-user totals agree with du to the byte: {sum(du_totals.values())} bytes")
    report(times, cpu)
    print(f"datakeeper --json disk, end to end: {time_cli(base):.3f} s")
    return 0


def report(times: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """Median wall time and CPU time of each, and their ratios to du's."""
    du_wall, du_cpu = statistics.median(times["du"]), statistics.median(cpu["du"])
    for name in times:
        wall, used = statistics.median(times[name]), statistics.median(cpu[name])
        ratios = "" if name == "du" else f"  ratio {wall / du_wall:.2f} (cpu {used / du_cpu:.2f})"
        print(f"{name:36} wall {wall:.3f} s, cpu {used:.3f} s{ratios}")
        print(f"{'':36} wall runs: {_fmt(times[name])}")
    print("ratio = median datakeeper wall time / median du wall time; goal: <= 1.5")
    print("(cpu: the same for user+system CPU seconds, children included; steadier under load)")


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


if __name__ == "__main__":
    sys.exit(main())
