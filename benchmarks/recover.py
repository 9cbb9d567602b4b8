"""Benchmark: ``datakeeper recover`` of N registered users against a plain shell loop.

Run as root (it boots a disposable server in namespaces, see tests/support/sandbox.py)::

    sudo .venv/bin/python benchmarks/recover.py [--users 1000] [--dir /var/tmp] [--profile]
        [--kill-at 1,500,2500] [--before OTHER_CHECKOUT/src]

It sets up a site (``datakeeper init``), records N users in the registry (private group
with gid = uid, the site group, a password hash, bash or sh), converges them once
(accounts and persistent homes), then, in the same run:

* reboots the server (the SSD is wiped, /data stays) and times a bash loop doing the
  essential commands for every registered user: ``groupadd -g``, ``useradd -u -g -G
  -s -M``, ``chpasswd -e``, ``ln -s`` of the home, ``chown`` of the home;
* reboots again and times ``datakeeper recover`` (Python start-up included), which
  also plans and checks every step, logs every change, and restores the site steps;
* times a second ``recover`` (nothing to do), five times in a row: the median
  is compared with the goal, and each run is shown.

Goals (issue 19), printed beside each figure: ratio = recover / shell loop <= 1.0 at
1000 users, and the second recover <= 0.5 s. ``--profile`` runs the timed recover
under cProfile and prints where the time goes; ``--profile-again`` does the same for
an extra, untimed recover with nothing to do. ``--before DIR`` also times the
``datakeeper`` package found in DIR (a copy of ``src/`` before a change, under the
repository, since the server has a /tmp of its own) against the same shell loop.
``--kill-at N,M,...`` then proves the kill-anywhere guarantee at this size: for each
N it reboots, kills a recover (SIGKILL) before its N-th change, runs it again, and
compares every passwd, group, shadow and gshadow line and every owner under
/data/users with the clean run.
"""

from __future__ import annotations

import argparse
import json
import pstats
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import DisposableServer  # noqa: E402

CONFIG = "[conda]\nenabled = false\n\n[uv]\nenabled = false\n"
FIRST_UID = 3001
RATIO_GOAL = 1.0
AGAIN_GOAL = 0.5  # seconds
AGAIN_RUNS = 5  # one run varies by a tenth of a second on a shared machine: the median
HASH = "$6$benchsalt$0pNqgYSBx2XdS3jS2Zt8bN1s7l2v0wE5oZ9nFf5fQ0M3wq1Xx7dJr6kz3Yl7h8v9x0c1b2n3m4l5k6j7h8g9f0"  # noqa: E501

REGISTER = """
import sys
from pathlib import Path
from datakeeper.config import load_config
from datakeeper.registry import RegistryEntry, open_registry
cfg = load_config(Path(sys.argv[1]))
first, count, hashed = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open_registry(cfg.registry_path) as registry:
    for i in range(count):
        name, uid = f"user{i:03d}", first + i
        registry.upsert(RegistryEntry(
            name=name, uid=uid, gid=uid, primary_group=name, groups=(cfg.group,),
            shell="/bin/bash" if i % 2 else "/bin/sh", password_hash=hashed))
"""


def set_up(server: DisposableServer, users: int) -> None:
    """A site with an admin and ``users`` registered and converged accounts."""
    server.run(["useradd", "--create-home", "--shell", "/bin/bash", "admin"])
    server.run(["mkdir", "-p", "/data/config"])
    server.run(["sh", "-c", f"cat > /data/config/datakeeper.toml <<'EOF'\n{CONFIG}EOF"])
    server.datakeeper("init", "--admin", "admin", "--yes")
    config = "/data/config/datakeeper.toml"
    server.run([sys.executable, "-c", REGISTER, config, str(FIRST_UID), str(users), HASH])
    server.datakeeper("recover")  # accounts and persistent homes, as before any wipe


def shell_loop(server: DisposableServer) -> str:
    """The bash script a person would write for the registered users."""
    registry = json.loads(server.path("/data/config/datakeeper/registry.json").read_text())
    lines = ["set -e"]
    lines += [f"groupadd -g {gid} {name}" for name, gid in registry["groups"].items()]
    for name, entry in sorted(registry["users"].items()):
        uid, gid, group = entry["uid"], entry["gid"], entry["primary_group"]
        extra = ",".join(entry["groups"])
        home = f"/data/users/{name}"
        lines += [
            f"getent group {group} >/dev/null || groupadd -g {gid} {group}",
            f"useradd -u {uid} -g {gid} {'-G ' + extra if extra else ''} -s {entry['shell']} "
            f"-M -d /home/{name} {name}",
            f"echo {shlex.quote(name + ':' + (entry['password_hash'] or '!'))} | chpasswd -e",
            f"ln -s {home} /home/{name}",
            f"chown {uid}:{gid} {home}",
        ]
    return "\n".join(lines) + "\n"


def run_script(server: DisposableServer, script: str) -> None:
    """Run ``script`` with bash inside the server (from a file: at 1000 users it is too
    long for one argument)."""
    server.path("/run/bench-loop.sh").write_text(script)
    server.run(["bash", "/run/bench-loop.sh"], timeout=3600)


def accounts_state(server: DisposableServer) -> tuple[list[str], list[str]]:
    """Every passwd, group, shadow and gshadow line (sorted), and the owner of every file
    under /data/users: what a recovery must bring back exactly."""
    lines = []
    for database in ("passwd", "group", "shadow", "gshadow"):
        out = server.run(["getent", database]).stdout.splitlines()
        lines += sorted(f"{database}:{line}" for line in out)
    owners = server.run(["find", "/data/users", "-printf", "%p %u %g %m\\n"]).stdout
    return lines, sorted(owners.splitlines())


def kill_anywhere(server: DisposableServer, points: list[int]) -> None:
    """Kill a recover before change N, run it again, compare with the clean state."""
    expected = accounts_state(server)
    for kill_at in points:
        server.reboot()
        fault = {"DATAKEEPER_FAULT_KILL_AT": str(kill_at)}
        killed = server.datakeeper("recover", env=fault, check=False, timeout=3600)
        server.datakeeper("recover", timeout=3600)
        same = accounts_state(server) == expected
        how = "killed" if killed.returncode in (-9, 137) else f"exit {killed.returncode}"
        print(f"  kill before change {kill_at:5d} ({how}), then recover: "
              f"{'identical' if same else 'DIFFERENT'}")  # fmt: skip
        if not same:
            raise SystemExit(1)


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def time_recover(server: DisposableServer, profile: bool) -> float:
    if not profile:
        return timed(lambda: server.datakeeper("recover", timeout=3600))
    argv = [sys.executable, "-m", "cProfile", "-o", "/data/recover.prof", "-m", "datakeeper"]
    elapsed = timed(lambda: server.run([*argv, "recover"], timeout=3600))
    stats = pstats.Stats(str(server.path("/data/recover.prof")))
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(15)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None, help="work dir [a temp dir]")
    parser.add_argument("--profile", action="store_true", help="profile the timed recover")
    parser.add_argument(
        "--profile-again", action="store_true", help="also profile a recover with nothing to do"
    )
    parser.add_argument("--kill-at", default="", help="comma-separated change numbers")
    parser.add_argument(
        "--before", type=Path, default=None, help="also time the src/ of another checkout"
    )
    args = parser.parse_args()
    points = [int(n) for n in args.kill_at.split(",") if n]
    base = Path(tempfile.mkdtemp(prefix="dk-bench-recover-", dir=args.dir))
    server = DisposableServer(base / "server").start()
    try:
        set_up(server, args.users)
        script = shell_loop(server)
        server.reboot()
        loop = timed(lambda: run_script(server, script))
        server.reboot()
        if args.before is not None:  # the same loop, the same server: a fair before/after
            old = {"PYTHONPATH": str(args.before.resolve())}
            recover = timed(lambda: server.datakeeper("recover", env=old, timeout=3600))
            again = times_again(server, old)
            print(f"before ({args.before}):")
            report(args.users + 1, loop, recover, again)
            server.reboot()
        recover = time_recover(server, args.profile)
        if args.profile_again:
            time_recover(server, True)  # nothing to do: where its time goes
        again = times_again(server)
        report(args.users + 1, loop, recover, again)  # and the admin
        if points:
            kill_anywhere(server, points)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


def times_again(server: DisposableServer, env: dict[str, str] | None = None) -> list[float]:
    """Seconds of ``AGAIN_RUNS`` recovers in a row with nothing to do (the first one
    right after the real recovery)."""
    run = lambda: server.datakeeper("recover", env=env)  # noqa: E731
    return [timed(run) for _ in range(AGAIN_RUNS)]


def report(users: int, loop: float, recover: float, again: list[float]) -> None:
    """The figures, each beside its goal."""
    ratio = recover / loop
    print(f"{users} registered users, recovered on a freshly wiped server:", flush=True)
    print(f"  shell loop (groupadd, useradd, chpasswd, ln, chown): {loop:8.2f} s")
    print(f"  datakeeper recover:                                  {recover:8.2f} s")
    print(
        f"  ratio (recover / shell loop):                        {ratio:8.2f}x"
        f"   goal <= {RATIO_GOAL:.1f}x: {'met' if ratio <= RATIO_GOAL else 'NOT met'}"
    )
    middle = statistics.median(again)
    print(
        f"  second recover (nothing to do), median of {len(again)}:       {middle:8.2f} s"
        f"   goal <= {AGAIN_GOAL:.1f} s: {'met' if middle <= AGAIN_GOAL else 'NOT met'}"
    )
    runs = ", ".join(f"{seconds:.2f} s" for seconds in again)
    print(f"    each run: {runs}", flush=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
