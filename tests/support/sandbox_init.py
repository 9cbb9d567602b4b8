"""PID 1 of a disposable server: builds its mounts, chroots, waits for EOF.

Run by ``sandbox.DisposableServer`` as
``unshare --mount --pid --net --uts --ipc --fork python -I sandbox_init.py SPEC``.
Everything mounted here lives only in this mount namespace; when this process
exits, the kernel ends every process of the namespace and drops the mounts.

With ``"init": "systemd"`` in SPEC it is started without ``--pid`` and only
supervises: it builds the same root (with device nodes of its own, since systemd
changes the modes of the ones it finds), then starts the real systemd as PID 1
of a new pid namespace chrooted into it, prints ``ready PID`` and waits for EOF.
The caller powers systemd off before closing stdin.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import time


def sh(*argv: str) -> None:
    """Run one setup command; fail loudly so the test says why the sandbox broke."""
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


def mount_root(spec: dict) -> str:
    # The layers live on a tmpfs of this namespace: overlayfs refuses a lower
    # layer inside another one (the host's "/"), and the SSD must vanish with us
    # unless it is a disk image that a test keeps across a reboot.
    layers, root = spec["layers"], spec["root"]
    sh("mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", layers)
    ssd = f"{layers}/ssd"
    os.makedirs(ssd, mode=0o755)
    if spec.get("ssd_image"):
        sh("mount", "-t", "ext4", "-o", "loop", spec["ssd_image"], ssd)
    for name in ("ssd/upper", "ssd/work", *(f"image{t}" for t in spec["mountpoints"])):
        os.makedirs(f"{layers}/{name}", mode=0o755, exist_ok=True)
    write_image(f"{layers}/image", spec.get("image_files", {}))
    options = f"lowerdir={layers}/image:/,upperdir={ssd}/upper,workdir={ssd}/work"
    sh("mount", "-t", "overlay", "overlay", "-o", options, root)
    return root


def write_image(image: str, files: dict) -> None:
    """The cloud image's own files (rc.local, cloud-init data, fstab), as a read-only
    layer under the SSD: ``{path: {"content": str, "mode": int} | {"link": target}}``."""
    for path, item in files.items():
        target = image + path
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        if "link" in item:
            os.symlink(item["link"], target)
            continue
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(item["content"])
        os.chmod(target, item.get("mode", 0o644))


def expose_host_paths(spec: dict) -> None:
    """Show the checkout and its Python inside, writable but throwaway (own overlay).

    Needed when they live where the server mounts something of its own (/tmp)
    or on another filesystem than the host's root.
    """
    layers, root = spec["layers"], spec["root"]
    for number, path in enumerate(spec["expose"]):
        upper, work = f"{layers}/expose{number}/upper", f"{layers}/expose{number}/work"
        os.makedirs(upper)
        os.makedirs(work)
        os.makedirs(root + path, exist_ok=True)
        options = f"lowerdir={path},upperdir={upper},workdir={work}"
        sh("mount", "-t", "overlay", "overlay", "-o", options, root + path)


def mount_system(root: str, *, own_devices: bool) -> None:
    if own_devices:
        make_devices(root)  # systemd's /proc comes from unshare --mount-proc
    else:
        sh("mount", "-t", "proc", "proc", f"{root}/proc")
        sh("mount", "--rbind", "/dev", f"{root}/dev")
    sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", f"{root}/dev/shm")
    sh("mount", "--rbind", "-o", "ro", "/sys", f"{root}/sys")
    sh("mount", "-o", "remount,bind,ro", f"{root}/sys")
    sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", f"{root}/run")
    sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", f"{root}/tmp")
    # root's home of its own, empty at each boot like the rest of the wiped SSD: the
    # host's /root (its pip cache, its .ssh) must not show through the overlay.
    sh("mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", f"{root}/root")


DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9))
DEVICES += (("tty", 5, 0),)


def make_devices(root: str) -> None:
    """A /dev of the server's own: systemd chmods what it finds there, so it must
    never see (and change) the host's nodes."""
    dev = f"{root}/dev"
    sh("mount", "-t", "tmpfs", "-o", "mode=0755,nosuid", "tmpfs", dev)
    for name, major, minor in DEVICES:
        os.mknod(f"{dev}/{name}", 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(f"{dev}/{name}", 0o666)  # noqa: S103 - as on every Linux; umask narrowed mknod
    for name in ("pts", "shm"):
        os.makedirs(f"{dev}/{name}")
    sh("mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620", "devpts", f"{dev}/pts")
    os.symlink("pts/ptmx", f"{dev}/ptmx")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(target, f"{dev}/{name}")
    os.symlink("/proc/self/fd/1", f"{dev}/stdout")
    os.symlink("/proc/self/fd/2", f"{dev}/stderr")


# The server's /proc/sys and /proc/sysrq-trigger are the host's kernel settings: read-only
# (as systemd-nspawn makes them), or systemd-sysctl would apply the image's sysctl.d to
# the host (it did: fs.protected_regular). Then the shell becomes systemd (exec: PID 1).
READ_ONLY_KERNEL_KNOBS = """
set -e
for knob in sys sysrq-trigger; do
    [ -e "$1/proc/$knob" ] || continue  # some kernels have no sysrq
    mount --bind "$1/proc/$knob" "$1/proc/$knob"
    mount -o remount,bind,ro "$1/proc/$knob"
done
exec chroot "$1" /lib/systemd/systemd
"""


def start_systemd(root: str, console: str) -> int:
    """systemd as PID 1 of a new pid namespace, chrooted into ``root``: its host pid."""
    environment = {"container": "other", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    argv = ["unshare", "--pid", "--fork", f"--mount-proc={root}/proc"]
    argv += ["sh", "-c", READ_ONLY_KERNEL_KNOBS, "sh", root]
    with open(console, "wb") as log:
        process = subprocess.Popen(
            argv, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    for _attempt in range(200):
        children = read_children(process.pid)
        if children:
            return children[0]
        time.sleep(0.01)
    raise RuntimeError("systemd did not start")


def read_children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(child) for child in handle.read().split()]
    except FileNotFoundError:
        return []


def mount_storage(root: str, storage: list) -> None:
    for item in storage:
        target = root + item["target"]
        if item["kind"] == "bind":
            sh("mount", "--bind", item["source"], target)
        else:
            sh("mount", "-t", "ext4", "-o", "loop", item["source"], target)


def attach_devices(root: str, devices: dict) -> list:
    """Each storage image a test mounts from the server's own fstab, as a block device
    of the server (``{inside path: image}``): the loop device is set up here, where the
    host's /dev has it; the server's /dev gets a node of the same number. Its loop
    devices, detached at exit (the kernel frees a busy one when it is unmounted)."""
    loops = []
    if devices:  # a tmpfs of its own: the root's overlay holds no device nodes
        folder = root + os.path.dirname(next(iter(devices)))
        os.makedirs(folder, mode=0o755, exist_ok=True)
        sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", folder)
    for inside, image in devices.items():
        loop = subprocess.run(
            ["losetup", "--find", "--show", image],
            check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        ).stdout.strip()  # fmt: skip
        loops.append(loop)
        os.makedirs(os.path.dirname(root + inside), mode=0o755, exist_ok=True)
        os.mknod(root + inside, 0o660 | stat.S_IFBLK, os.stat(loop).st_rdev)
    return loops


def detach(loops: list) -> None:
    for loop in loops:
        subprocess.run(["losetup", "-d", loop], check=False, stdin=subprocess.DEVNULL)


def main() -> None:
    spec = json.loads(sys.argv[1])
    systemd = spec.get("init") == "systemd"
    root = mount_root(spec)
    mount_system(root, own_devices=systemd)
    mount_storage(root, spec["storage"])
    expose_host_paths(spec)
    for inside, host in spec["binds"].items():
        os.makedirs(root + inside, exist_ok=True)
        sh("mount", "--bind", "-o", "ro", host, root + inside)
    sh("ip", "link", "set", "lo", "up")
    sh("hostname", spec["hostname"])
    for path in spec["open_for_users"]:
        # The test's Python may live under /root (pyenv): let sandbox users reach it.
        os.chmod(root + path, os.stat(root + path).st_mode | 0o001)
    if systemd:
        loops = attach_devices(root, spec.get("devices", {}))
        print(f"ready {start_systemd(root, spec['console'])}", flush=True)
        sys.stdin.read()
        detach(loops)
        return
    os.chroot(root)
    os.chdir("/")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # PID 1 reaps orphaned daemons
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
