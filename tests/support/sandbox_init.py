"""PID 1 of a disposable server: builds its mounts, chroots, waits for EOF.

Run by ``sandbox.DisposableServer`` as
``unshare --mount --pid --net --uts --ipc --fork python -I sandbox_init.py SPEC``.
Everything mounted here lives only in this mount namespace; when this process
exits, the kernel ends every process of the namespace and drops the mounts.
"""

import json
import os
import signal
import subprocess
import sys


def sh(*argv: str) -> None:
    """Run one setup command; fail loudly so the test says why the sandbox broke."""
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


def mount_root(spec: dict) -> str:
    # The layers live on a tmpfs of this namespace: overlayfs refuses a lower
    # layer inside another one (the host's "/"), and the SSD must vanish with us.
    layers, root = spec["layers"], spec["root"]
    sh("mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", layers)
    for name in ("upper", "work", *(f"image{t}" for t in spec["mountpoints"])):
        os.makedirs(f"{layers}/{name}", mode=0o755)
    options = f"lowerdir={layers}/image:/,upperdir={layers}/upper,workdir={layers}/work"
    sh("mount", "-t", "overlay", "overlay", "-o", options, root)
    return root


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


def mount_system(root: str) -> None:
    sh("mount", "-t", "proc", "proc", f"{root}/proc")
    sh("mount", "--rbind", "/dev", f"{root}/dev")
    sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", f"{root}/dev/shm")
    sh("mount", "--rbind", "-o", "ro", "/sys", f"{root}/sys")
    sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", f"{root}/run")
    sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", f"{root}/tmp")


def mount_storage(root: str, storage: list) -> None:
    for item in storage:
        target = root + item["target"]
        if item["kind"] == "bind":
            sh("mount", "--bind", item["source"], target)
        else:
            sh("mount", "-t", "ext4", "-o", "loop", item["source"], target)


def main() -> None:
    spec = json.loads(sys.argv[1])
    root = mount_root(spec)
    mount_system(root)
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
    os.chroot(root)
    os.chdir("/")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # PID 1 reaps orphaned daemons
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
