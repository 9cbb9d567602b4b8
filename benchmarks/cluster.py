"""Benchmark: two servers sharing one /data (issue 17).

Run as root (it boots two disposable servers, tests/support/sandbox.py, that bind
the same host directory as /data, each with its own SSD)::

    sudo .venv/bin/python benchmarks/cluster.py [--writes 200] [--dir /var/tmp]

Measures:

* **add on A, log in on B**: ``user add`` on node A, then node B runs what its
  node-sync unit runs (``node sync``) and a login shell of the new user starts
  on B (``runuser -l NAME -c true``). The time from the add's start to that
  login, next to the add alone and the sync alone; with the timer, the worst case
  adds one ``[cluster] sync_interval`` (30 s by default) of waiting, the mean half.
* **lock throughput**: registry writes a second (``open_registry`` + one upsert,
  the write ``user add`` makes) by one writer on A, then by two writers at once,
  one on A and one on B, contending for the same POSIX record lock.
  ratio = two writers / one writer (1.0: the lock costs nothing extra under
  contention; below 1.0: the waiting shows).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import DisposableServer, StorageSpec  # noqa: E402
from tests.support.site_setup import init_site, prepare_site  # noqa: E402

REGISTRY = "/data/config/datakeeper/registry.json"
WRITER = """
import sys, time
from pathlib import Path
from datakeeper.registry import RegistryEntry, open_registry
path, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
started = time.perf_counter()
for i in range(count):
    name = f"{prefix}{i}"
    with open_registry(path, timeout=300) as registry:
        uid = max([20000, *(e.uid for e in registry.entries())]) + 1
        registry.upsert(RegistryEntry(name=name, uid=uid, gid=uid, primary_group=name))
print(time.perf_counter() - started)
"""


def node(base: Path, shared: Path, name: str) -> DisposableServer:
    storage = [StorageSpec("/data", source=str(shared)), StorageSpec("/backup")]
    return DisposableServer(base / name, storage=storage, hostname=name).start()


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def add_to_login(a: DisposableServer, b: DisposableServer, name: str) -> tuple[float, ...]:
    """(add, sync, add → login on B) in seconds."""
    start = time.perf_counter()
    add = timed(lambda: a.datakeeper("--yes", "user", "add", name))
    sync = timed(lambda: b.datakeeper("node", "sync"))
    b.run(["runuser", "-l", name, "-c", "true"])
    return add, sync, time.perf_counter() - start


def writes_per_second(servers: list[DisposableServer], count: int, tag: str) -> float:
    """Registry writes a second, all writers together (each writes ``count``)."""

    def write(index: int, server: DisposableServer) -> float:
        argv = [sys.executable, "-c", WRITER, REGISTRY, f"{tag}{index}x", str(count)]
        return float(server.run(argv, timeout=1800).stdout.strip())

    with ThreadPoolExecutor(len(servers)) as pool:
        spans = list(pool.map(write, range(len(servers)), servers))
    return count * len(servers) / max(spans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=200, help="registry writes per writer")
    parser.add_argument("--dir", type=Path, default=None, help="work dir [a temp dir]")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dk-bench-cluster-", dir=args.dir))
    shared = base / "shared-data"
    shared.mkdir(mode=0o755)
    a = node(base, shared, "node-a")
    b = node(base, shared, "node-b")
    try:
        prepare_site(a)
        init_site(a)
        a.datakeeper("node", "join")
        b.datakeeper("node", "join")
        runs = [add_to_login(a, b, f"bench{i}") for i in range(3)]
        one = writes_per_second([a], args.writes, "one")
        two = writes_per_second([a, b], args.writes, "two")
    finally:
        a.stop()
        b.stop()
        shutil.rmtree(base, ignore_errors=True)
    add, sync, login = (min(column) for column in zip(*runs, strict=True))
    print("user added on node A, logging in on node B (best of 3):")
    print(f"  user add on A:                       {add:8.2f} s")
    print(f"  node sync on B (what its unit runs): {sync:8.2f} s")
    print(f"  add start -> login works on B:       {login:8.2f} s")
    print(f"  ratio (add -> login / add alone):    {login / add:8.2f}x")
    print("  with the timer: + up to sync_interval (30 s default) of waiting, 15 s mean")
    print(f"registry lock, {args.writes} writes per writer:")
    print(f"  one writer (A):                      {one:8.1f} writes/s")
    print(f"  two writers (A and B at once):       {two:8.1f} writes/s")
    print(f"  ratio (two / one):                   {two / one:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
