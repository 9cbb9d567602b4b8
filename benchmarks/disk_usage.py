"""Benchmark: datakeeper's per-user disk totals against ``du -s`` on the same tree.

Run as root (files are chown-ed to several users)::

    sudo .venv/bin/python benchmarks/disk_usage.py [--files 300000] [--users 6] [--heavy 0.8]
        [--dir /var/tmp] [--keep | --reuse DIR]

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
* end to end: ``datakeeper --json disk`` as a user runs it (a new Python,
  its start-up, imports, config, scan and JSON output all counted) against
  one ``du -s -x -B1`` process over the same homes;

and reports the median of each. **ratio = median datakeeper time / median du
time**: 1.0 means as fast as du, 0.8 means 20 % faster. Each ratio is printed
beside its goal (issue 19): the scanner with its default processes <= 0.8,
the CLI end to end <= 1.0. Every user's total (the scanner's and the CLI's)
must equal du's to the byte (du's 1-byte blocks) in every round, or it fails.
``--reuse DIR`` times a tree an earlier ``--keep`` run left, without making it.
``--heavy 0.8`` puts 80 % of the files in the first home, as in a lab where one
member holds the datasets: the workers then split that one tree between them
(``scan_trees``), where one process per tree would leave the other CPUs idle.
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
from functools import partial
from pathlib import Path

from datakeeper.features.disk.scan import ScanRequest, scan_trees
from datakeeper.system.workers import default_jobs

FIRST_UID = 40001
GOALS = {"scan": 0.8, "cli": 1.0}  # issue 19: at most these ratios to du


def generate(users_dir: Path, files: int, users: int, heavy: float, seed: int = 6) -> None:
    """Nested folders per user: ~40 % empty-ish tiny files, some 4-64 KiB, a few sparse.
    ``heavy``: the share of the files in the first home (0: an equal share each)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    for number, count in enumerate(shares(files, users, heavy)):
        uid = FIRST_UID + number
        home = users_dir / f"u{number:02d}"
        _generate_home(home, count, uid, rng)


def shares(files: int, users: int, heavy: float) -> list[int]:
    """How many files each home gets: equal, or ``heavy`` of them in the first."""
    if not heavy or users == 1:
        return [files // users] * users
    first = int(files * heavy)
    return [first] + [(files - first) // (users - 1)] * (users - 1)


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


def write_config(base: Path) -> Path:
    """A site config whose users folder is the generated one (``<base>/users``)."""
    config = base / "bench.toml"
    config.write_text(
        f'[storage]\ndata_root = "{base}"\nbackup_root = ""\n\n'
        "[conda]\nenabled = false\n\n[uv]\nenabled = false\n"
    )
    return config


def time_cli(config: Path) -> tuple[float, float, dict[str, int]]:
    """``datakeeper --json disk`` end to end, as a user runs it: a new Python each time."""
    argv = [sys.executable, "-m", "datakeeper", "--config", str(config), "--json", "disk"]
    start, cpu = time.perf_counter(), cpu_seconds()
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    elapsed, used = time.perf_counter() - start, cpu_seconds() - cpu
    homes = json.loads(result.stdout)["homes"]
    return elapsed, used, {Path(home["path"]).name: home["bytes"] for home in homes}


def time_du_once(homes: list[Path]) -> tuple[float, float, dict[str, int]]:
    """One ``du -s -x -B1`` process over every home, its exec counted."""
    start, cpu = time.perf_counter(), cpu_seconds()
    argv = ["du", "-s", "-x", "-B1", *map(str, homes)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    elapsed, used = time.perf_counter() - start, cpu_seconds() - cpu
    lines = (line.split("\t", 1) for line in out.splitlines())
    return elapsed, used, {Path(path).name: int(size) for size, path in lines}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300_000)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument(
        "--heavy",
        type=float,
        default=0.0,
        help="share of the files in the first home, e.g. 0.8 (default: an equal share each)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--keep", action="store_true", help="Leave the generated tree.")
    parser.add_argument("--reuse", type=Path, help="Time the tree a --keep run left here.")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the tree is chown-ed to several users", file=sys.stderr)
        return 2
    if args.reuse is not None:
        return run(args.reuse, args)
    base = Path(tempfile.mkdtemp(prefix="dk-bench-", dir=args.dir))
    try:
        return run(base, args)
    finally:
        if not args.keep:
            shutil.rmtree(base)


def run(base: Path, args: argparse.Namespace) -> int:
    users_dir = base / "users"
    start = time.perf_counter()
    if args.reuse is None:
        generate(users_dir, args.files, args.users, args.heavy)
    homes = sorted(users_dir.iterdir())
    entries = sum(1 for _ in users_dir.rglob("*"))
    made = time.perf_counter() - start
    how = "reused" if args.reuse is not None else f"made in {made:.1f} s"
    print(f"tree: {base}, {entries} entries for {len(homes)} users, {how}")
    parallel = default_jobs(len(homes))
    default = f"datakeeper, {parallel} processes (default)"
    scanners = {default: partial(time_datakeeper, homes, None)}
    scanners["datakeeper, 1 process"] = partial(time_datakeeper, homes, 1)
    ends = {"datakeeper --json disk": partial(time_cli, write_config(base))}
    time_du(homes)  # warm the page cache, untimed
    scan_times = Timings(["du", *scanners])
    cli_times = Timings(["du -s -B1 (all homes)", *ends])
    for _ in range(args.rounds):
        du_totals = scan_times.add("du", time_du(homes))
        once = cli_times.add("du -s -B1 (all homes)", time_du_once(homes))
        assert once == du_totals, f"du over all homes differs:\n{once}\n{du_totals}"
        for name, timed in [*scanners.items(), *ends.items()]:
            timings = scan_times if name in scanners else cli_times
            totals = timings.add(name, timed())
            assert totals == du_totals, f"{name}: totals differ:\n{totals}\n{du_totals}"
    print(f"per-user totals agree with du to the byte: {sum(du_totals.values())} bytes")
    print("scanner (in this process, start-up not counted), du -s -x -B1 on each home in turn:")
    scan_times.report(goals={default: GOALS["scan"]})
    print("end to end (a new process each, start-up counted):")
    cli_times.report(goals={"datakeeper --json disk": GOALS["cli"]})
    print("ratio = median wall time / median du wall time (cpu: user+system, children included;")
    print("steadier under load); goal: the most the ratio may be (issue 19)")
    return 0


class Timings:
    """Wall and CPU seconds of each contender, round after round; the first is du."""

    def __init__(self, names: list[str]) -> None:
        self.wall: dict[str, list[float]] = {name: [] for name in names}
        self.cpu: dict[str, list[float]] = {name: [] for name in names}

    def add(self, name: str, timed: tuple[float, float, dict[str, int]]) -> dict[str, int]:
        """Record one run; return its per-user totals."""
        elapsed, used, totals = timed
        self.wall[name].append(elapsed)
        self.cpu[name].append(used)
        return totals

    def report(self, goals: dict[str, float]) -> None:
        """Median wall time and CPU time of each, their ratios to du's, each goal beside."""
        du = next(iter(self.wall))
        du_wall, du_cpu = statistics.median(self.wall[du]), statistics.median(self.cpu[du])
        for name in self.wall:
            wall, used = statistics.median(self.wall[name]), statistics.median(self.cpu[name])
            ratios = "" if name == du else f"  ratio {wall / du_wall:.2f} (cpu {used / du_cpu:.2f})"
            if name in goals:
                met = "met" if wall / du_wall <= goals[name] else "NOT met"
                ratios += f"  goal <= {goals[name]:.1f}: {met}"
            print(f"  {name:36} wall {wall:.3f} s, cpu {used:.3f} s{ratios}")
            print(f"  {'':36} wall runs: {_fmt(self.wall[name])}")


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


if __name__ == "__main__":
    sys.exit(main())
