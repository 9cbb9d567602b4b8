"""A disposable server for tests: the host's root as a throwaway SSD, real /data.

Each server is a private mount, pid, network, UTS and IPC namespace whose root
is an overlay of the host's ``/`` (the "image") with an upper layer in the
test's temporary directory: writes to ``/etc``, ``/home``, ``/usr/local`` …
land in that layer and never on the host. ``/data`` and ``/backup`` are
separate mounts of directories (or ext4 loop images) that survive ``reboot()``,
which ends every process of the server and starts it again with an empty upper
layer — the wipe the real machine suffers on every boot.

From the host, ``server.path("/etc/passwd")`` reads inside the server through
``/proc/PID/root``; ``server.run(argv, user=…)`` executes inside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

INIT_SCRIPT = Path(__file__).with_name("sandbox_init.py")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOSTNAME = "dk-sandbox"
# Under systemd, a storage image mounted by the server's own /etc/fstab (StorageSpec
# by_fstab) shows up as a block device DEVICE_DIR/<target without slashes>. Not under
# /dev: in a container systemd's fstab generator ignores every line naming a /dev path.
DEVICE_DIR = "/mnt/dk-storage"


class SandboxUnavailable(RuntimeError):
    """This host cannot run disposable servers (not root, no unshare, no overlay)."""


@dataclass
class StorageSpec:
    """One persistent storage root of the server."""

    target: str  # path inside the server, e.g. "/data"
    kind: str = "dir"  # "dir": bind of a host directory; "ext4": loop-mounted image
    size_mb: int = 256
    mounted: bool = True
    # systemd only: the image is attached as a block device (see ``device``) and not
    # mounted by the sandbox; an fstab line in the image (``fstab_line``) mounts it.
    by_fstab: bool = False
    # A host directory bound here instead of the server's own (kind "dir"): several
    # servers given the same one share that storage, as nodes sharing an NFS /data do.
    source: str | None = None

    @property
    def device(self) -> str:
        """The block device of a ``by_fstab`` image, inside the server."""
        return f"{DEVICE_DIR}/{self.target.strip('/').replace('/', '-')}"

    def fstab_line(self, options: str = "defaults,nofail") -> str:
        """The /etc/fstab line that mounts this image inside a systemd server."""
        return f"{self.device} {self.target} ext4 {options} 0 0\n"


@dataclass
class DisposableServer:
    """One sandboxed server; see the module docstring."""

    workdir: Path
    storage: list[StorageSpec] = field(
        default_factory=lambda: [StorageSpec("/data"), StorageSpec("/backup")]
    )
    binds: dict[str, str] = field(default_factory=dict)  # inside path -> host path, read-only
    init: str = "python"  # PID 1: "python" (sandbox_init.py) or "systemd" (the real one)
    ssd: str = "tmpfs"  # "tmpfs": gone at every stop; "ext4": a disk image reboot() may keep
    # The cloud image's own files, under the SSD: {path: {"content", "mode"} | {"link"}}.
    image_files: dict[str, dict] = field(default_factory=dict)
    hostname: str = HOSTNAME  # two servers sharing a /data need names of their own
    _process: subprocess.Popen | None = None
    pid: int | None = None  # host pid of the server's PID 1
    booted_at: float = 0.0  # time.time() when the current boot started
    boots: int = 0

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> DisposableServer:
        """Boot the server: fresh SSD layer (unless kept), persistent storage mounted."""
        self._prepare_layers()
        spec = self._spec()
        self.booted_at = time.time()
        namespaces = ["--mount", "--net", "--uts", "--ipc", "--propagation", "private"]
        if self.init == "python":
            namespaces += ["--pid", "--fork"]
        self._process = subprocess.Popen(
            ["unshare", *namespaces, sys.executable, "-I", str(INIT_SCRIPT), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self._process.stdout.readline().strip()
        if not line.startswith("ready"):
            error = self._process.stderr.read()
            self._process.wait()
            raise SandboxUnavailable(f"sandbox did not start: {error.strip() or line}")
        if self.init == "systemd":
            self.pid = int(line.split()[1])
            self._wait_until_booted()
        else:
            self.pid = self._init_pid(self._process.pid)
        self.boots += 1
        return self

    def stop(self) -> None:
        """End every process of the server and drop its mounts."""
        if self._process is None:
            return
        if self.init == "systemd":
            self._power_off()
        self._process.stdin.close()
        self._process.wait(timeout=30)
        self._process.stdout.close()
        self._process.stderr.close()
        self._process = None
        self.pid = None
        self._wait_for_loop_release()

    def reboot(
        self,
        *,
        mounted: dict[str, bool] | None = None,
        init: str | None = None,
        wipe: bool = True,
        image: dict[str, dict] | None = None,
    ) -> None:
        """Power-cycle: the SSD comes back as the image; /data and /backup persist.

        ``mounted={"/data": False}`` simulates a disk that failed to mount.
        ``init="systemd"`` boots the real systemd as PID 1 (``"python"``: a bare init).
        ``wipe=False`` keeps the SSD as it was (needs ``ssd="ext4"``).
        ``image`` replaces the cloud image's own files (see ``image_files``).
        """
        self.stop()
        for spec in self.storage:
            spec.mounted = (mounted or {}).get(spec.target, True)
        if init is not None:
            self.init = init
        if image is not None:
            self.image_files = image
        if wipe:
            self._ssd_image().unlink(missing_ok=True)
        elif self.ssd != "ext4":
            raise ValueError("keeping the SSD across a reboot needs DisposableServer(ssd='ext4')")
        self.start()

    def storage_image(self, target: str) -> Path:
        """The host path of the ext4 image behind ``target`` (to break or inspect it)."""
        return self._backing(next(s for s in self.storage if s.target == target))

    def journal(self, *args: str) -> str:
        """This boot's ``journalctl`` lines inside a systemd server, with precise times.

        Every sandbox boot shares the host's boot id, so ``-b`` cannot tell them apart:
        the lines are those since this boot started.
        """
        since = f"@{self.booted_at:.6f}"
        argv = ["journalctl", "--no-pager", "-o", "short-iso-precise", "--since", since, *args]
        return self.run(argv).stdout

    # -- acting inside -------------------------------------------------------

    def run(
        self,
        argv: list[str],
        *,
        user: str | None = None,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        login: bool = False,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` inside the server as root, or as ``user`` (optionally a login shell)."""
        command = list(argv)
        if user is not None and login:
            command = ["runuser", "-l", user, "-c", shlex.join(command)]
        elif user is not None:
            command = ["runuser", "-u", user, "--", *command]
        environment = {
            "PATH": SANDBOX_PATH,
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        env_argv = ["env", "-i", *(f"{k}={v}" for k, v in environment.items())]
        result = subprocess.run(
            [
                "nsenter",
                "-t",
                str(self.pid),
                "-m",
                "-p",
                "-n",
                "-u",
                "-i",
                "-r",
                "-w",
                "--",
                *env_argv,
                *command,
            ],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{shlex.join(argv)} (user={user}) exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def datakeeper(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run this checkout's ``datakeeper`` inside the server."""
        return self.run([sys.executable, "-m", "datakeeper", *args], **kwargs)

    def converge(
        self, mode: str, specs: list[dict], *, guard_roots: tuple[str, ...] = (), check=True
    ) -> dict:
        """Plan, dry-run or apply resources described as JSON inside the server."""
        argv = [sys.executable, "-m", "tests.support.inside", mode, json.dumps(specs)]
        if guard_roots:
            argv.append(json.dumps(list(guard_roots)))
        result = self.run(argv, env={"PYTHONPATH": str(PROJECT_ROOT)}, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{mode} failed: {result.stdout}{result.stderr}")
        outcome = json.loads(result.stdout) if result.stdout.strip() else {}
        outcome["returncode"] = result.returncode
        return outcome

    def dialog(
        self,
        argv: list[str],
        answers: list[tuple[str, str]],
        *,
        user: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` on a terminal inside the server, answering each prompt in turn."""
        spec = json.dumps({"argv": argv, "dialog": answers})
        return self.run(
            [sys.executable, "-m", "tests.support.pty_driver", spec],
            user=user,
            env={"PYTHONPATH": str(PROJECT_ROOT)},
            check=check,
        )

    def path(self, inside: str) -> Path:
        """The host path through which a path inside the server can be read."""
        return Path(f"/proc/{self.pid}/root") / inside.lstrip("/")

    # -- observing -----------------------------------------------------------

    def snapshot(self) -> dict[str, tuple]:
        """Every file of the SSD layer and the storage roots: type, mode, owner, content."""
        state: dict[str, tuple] = {}
        _walk_into(state, "ssd:", self.ssd_layer())
        for spec in self.storage:
            if spec.mounted:
                _walk_into(state, f"{spec.target}:", self.path(spec.target))
        return state

    def ssd_layer(self) -> Path:
        """The host path of the SSD's upper layer: everything written to the SSD."""
        assert self._process is not None, "server is not running"
        upper = self.workdir / "layers/ssd/upper"
        return Path(f"/proc/{self._process.pid}/root") / str(upper).lstrip("/")

    # -- internals -----------------------------------------------------------

    def _prepare_layers(self) -> None:
        for name in ("layers", "root"):
            (self.workdir / name).mkdir(parents=True, exist_ok=True)
        for spec in self.storage:
            self._prepare_storage(spec)
        if self.ssd == "ext4" and not self._ssd_image().exists():
            _make_ext4_image(self._ssd_image(), 1024)

    def _ssd_image(self) -> Path:
        return self.workdir / "ssd.img"

    def _wait_until_booted(self, timeout: float = 60) -> None:
        """Until systemd has run its boot transaction (running or degraded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.1)
        raise SandboxUnavailable(f"systemd did not finish booting: {state}")

    def _power_off(self, timeout: float = 30) -> None:
        """``systemctl poweroff`` (so stop commands run), then SIGKILL if it lingers."""
        pid = self.pid
        self.run(["systemctl", "poweroff"], check=False)
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)

    def _prepare_storage(self, spec: StorageSpec) -> None:
        backing = self._backing(spec)
        if backing.exists():
            return
        backing.parent.mkdir(parents=True, exist_ok=True)
        if spec.kind == "dir":
            backing.mkdir(parents=True)
            backing.chmod(0o755)
        else:
            _make_ext4_image(backing, spec.size_mb)

    def _backing(self, spec: StorageSpec) -> Path:
        if spec.source is not None:
            return Path(spec.source)
        name = spec.target.strip("/").replace("/", "-")
        return self.workdir / "persistent" / (name + (".img" if spec.kind == "ext4" else ""))

    def _spec(self) -> dict:
        return {
            "layers": str(self.workdir / "layers"),
            "root": str(self.workdir / "root"),
            "mountpoints": [s.target for s in self.storage],
            "expose": _paths_hidden_inside([PROJECT_ROOT, Path(sys.prefix), Path(sys.base_prefix)]),
            "storage": [
                {
                    "target": s.target,
                    "kind": "bind" if s.kind == "dir" else "ext4",
                    "source": str(self._backing(s)),
                }
                for s in self.storage
                if s.mounted and not s.by_fstab
            ],
            "devices": {
                s.device: str(self._backing(s))
                for s in self.storage
                if s.by_fstab and self.init == "systemd"
            },
            "open_for_users": _closed_ancestors(Path(sys.base_prefix)),
            "hostname": self.hostname,
            "binds": self.binds,
            "init": self.init,
            "ssd_image": str(self._ssd_image()) if self.ssd == "ext4" else None,
            "image_files": self.image_files,
            "console": str(self.workdir / "console.log"),
        }

    @staticmethod
    def _init_pid(unshare_pid: int) -> int:
        children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
        return int(children[0])

    def _wait_for_loop_release(self) -> None:
        """A loop image must be detached before it is mounted again (no double mount)."""
        images = [self._backing(s) for s in self.storage if s.kind == "ext4"]
        if self.ssd == "ext4":
            images.append(self._ssd_image())
        for image in images:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                out = subprocess.run(
                    ["losetup", "-j", str(image)], capture_output=True, text=True
                ).stdout
                if not out.strip():
                    break
                time.sleep(0.05)


SERVER_OWN_MOUNTS = (
    Path("/tmp"),
    Path("/run"),
    Path("/dev"),
    Path("/proc"),
    Path("/sys"),
    Path("/root"),
)


def _paths_hidden_inside(paths: list[Path]) -> list[str]:
    """Paths the server would not show as on the host: on another filesystem than the
    host's root (the overlay's lower layer), or under a mount the server makes itself."""
    root_dev = os.stat("/").st_dev
    hidden = set()
    for path in (p.resolve() for p in paths if p.exists()):
        under_own_mount = any(m == path or m in path.parents for m in SERVER_OWN_MOUNTS)
        if under_own_mount or os.stat(path).st_dev != root_dev:
            hidden.add(str(path))
    # Nested paths are covered by their ancestor's overlay.
    return sorted(p for p in hidden if not any(Path(q) in Path(p).parents for q in hidden))


def _closed_ancestors(path: Path) -> list[str]:
    """Ancestors of ``path`` that other users cannot traverse."""
    return [str(p) for p in path.resolve().parents if not os.stat(p).st_mode & 0o001]


def _make_ext4_image(path: Path, size_mb: int) -> None:
    with open(path, "wb") as image:
        image.truncate(size_mb * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(path)], check=True)


def _walk_into(state: dict[str, tuple], prefix: str, top: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            info = full.lstat()
            if stat.S_ISREG(info.st_mode):
                content = hashlib.sha256(full.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                content = os.readlink(full)
            else:
                content = ""
            key = prefix + str(full.relative_to(top))
            state[key] = (info.st_mode, info.st_uid, info.st_gid, content)


def probe() -> str | None:
    """Why disposable servers cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "sandbox tests need root (they create users and mounts in a namespace)"
    for tool in ("unshare", "nsenter", "runuser", "mount", "ip"):
        if shutil.which(tool) is None:
            return f"sandbox tests need '{tool}' on PATH"
    return None
