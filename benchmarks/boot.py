"""Benchmark: the boot path under the real systemd, after a full wipe, beside a bare
``datakeeper recover`` of the same users.

Run as root (it boots disposable servers whose PID 1 is systemd, see
tests/support/sandbox.py)::

    sudo .venv/bin/python benchmarks/boot.py [--users 50 500] [--wheelhouse DIR] [--dir /var/tmp]

For each user count it installs datakeeper on /data (install.sh, from a wheelhouse built
here unless given), sets up a site with N registered users (as benchmarks/recover.py),
runs ``datakeeper recovery enable`` and takes its units into the cloud image (the image
an admin prepares with recovery on). Then:

* boots with a wiped SSD and that image, and reads from systemd's own monotonic
  timestamps the time from systemd's start to ``datakeeper-recovery.service`` finished,
  to sshd ready (``ssh.service`` active: listening), and to member logins allowed
  (``systemd-user-sessions.service``, which the recovery is ordered before);
* boots with a wiped SSD and the same image less the recovery's enable link, and times
  ``datakeeper recover --boot`` of the persistent install: the command the service runs,
  with the same files and units in place.

ratio = (systemd start to recovery finished) / bare recover: the cost of the boot path
itself (systemd's start, the mounts, the unit's start-up) on top of the recovery.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recover import set_up  # noqa: E402
from tests.support.boot_image import prepared_image  # noqa: E402
from tests.support.sandbox import DisposableServer  # noqa: E402

SERVICE = "datakeeper-recovery.service"
TOOL = "/data/apps/datakeeper/current/bin/datakeeper"
INSTALL = [str(ROOT / "install.sh"), "--wheels", "/mnt/wheelhouse"]


def build_wheelhouse(house: Path) -> Path:
    """Wheels of datakeeper and its dependencies: the sandbox has no network."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    for argv in (
        [*pip, "wheel", "--wheel-dir", str(house), str(ROOT)],
        [*pip, "download", "--dest", str(house), "setuptools>=64", "wheel", "uv>=0.4,<1"],
    ):
        subprocess.run(argv, check=True)
    return house


def monotonic(server: DisposableServer, unit: str | None, prop: str) -> float:
    """A ``*TimestampMonotonic`` property of ``unit`` (or of the manager), in seconds."""
    argv = ["systemctl", "show", *([unit] if unit else []), f"--property={prop}", "--value"]
    return int(server.run(argv).stdout.strip()) / 1e6


def boot_times(server: DisposableServer) -> dict[str, float]:
    """Seconds from systemd's start to: recovery finished, sshd ready, member logins."""
    start = monotonic(server, None, "UserspaceTimestampMonotonic")
    state = server.run(["systemctl", "show", SERVICE, "--property=Result", "--value"]).stdout
    assert state.strip() == "success", server.journal("-u", SERVICE)[-3000:]
    marks = {
        "recovery": monotonic(server, SERVICE, "ActiveEnterTimestampMonotonic"),
        "recovery_start": monotonic(server, SERVICE, "InactiveExitTimestampMonotonic"),
        "sshd": monotonic(server, "ssh.service", "ActiveEnterTimestampMonotonic"),
        "sessions": monotonic(
            server, "systemd-user-sessions.service", "ActiveEnterTimestampMonotonic"
        ),
    }
    times = {key: mark - start for key, mark in marks.items()}
    times["logins"] = max(times["sshd"], times["sessions"])
    return times


def _starts_recovery(path: str) -> bool:
    return path.endswith(f".wants/{SERVICE}")


def run_one(base: Path, house: Path, users: int) -> dict[str, float]:
    binds = {"/mnt/wheelhouse": str(house)}
    server = DisposableServer(base / f"server-{users}", binds=binds, init="systemd", ssd="ext4")
    server.start()
    try:
        server.run(INSTALL, timeout=900)
        set_up(server, users)
        server.run(["datakeeper", "recovery", "enable"])
        image = prepared_image(server)
        server.reboot(wipe=True, image=image)
        times = boot_times(server)
        # The same image without the recovery's enable link: the other units are there
        # and running, as after the boot above, but nothing recovers at boot.
        bare = {path: item for path, item in image.items() if not _starts_recovery(path)}
        server.reboot(wipe=True, image=bare)
        # At boot the shadow watch's sync waits for the recovery (After=); here it would
        # start a sync at every account made, beside the timed run.
        server.run(["systemctl", "stop", "datakeeper-password-sync.path"])
        start = time.perf_counter()
        server.run([TOOL, "recover", "--boot"], timeout=1800)
        times["bare"] = time.perf_counter() - start
    finally:
        server.stop()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--wheelhouse", type=Path, default=None, help="[built here]")
    parser.add_argument("--dir", type=Path, default=None, help="work dir [a temp dir]")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dk-bench-boot-", dir=args.dir))
    try:
        house = args.wheelhouse or build_wheelhouse(base / "wheelhouse")
        results = {users: run_one(base, house, users) for users in args.users}
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("registered users (and the admin), boot after a full wipe, seconds from systemd's start:")
    print(f"  {'users':>6} {'recovery done':>14} {'sshd ready':>11} {'member logins':>14} "
          f"{'service ran':>12} {'bare recover':>13} {'ratio':>7}")  # fmt: skip
    for users, t in results.items():
        ran = t["recovery"] - t["recovery_start"]
        print(f"  {users + 1:>6} {t['recovery']:>14.2f} {t['sshd']:>11.2f} {t['logins']:>14.2f} "
              f"{ran:>12.2f} {t['bare']:>13.2f} {t['recovery'] / t['bare']:>6.2f}x")  # fmt: skip
    print("ratio = (systemd start to recovery done) / bare recover: the boot path's own cost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
