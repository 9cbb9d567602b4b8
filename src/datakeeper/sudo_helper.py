"""datakeeper-helper: the only program group members may run as root (through sudo).

Installed by datakeeper as a single file (root:root 0755, by default
``/usr/local/sbin/datakeeper-helper``) that runs as ``/usr/bin/python3 -I``:
standard library only, isolated from PYTHONPATH, the user's site-packages and
its own directory. Everything it needs is baked into ``POLICY`` at install
time, so it reads no file another user could write, not even the site config.

Commands (anything else is refused with exit code 2):
    datakeeper-helper disk-usage          df -h of the storage roots
    datakeeper-helper cache-clean KIND    clean a SHARED cache (conda, huggingface, torch)

Cleaning walks caches that group members can write, so it never follows a
symlink: every directory is opened with O_NOFOLLOW relative to its parent's
descriptor, entries are examined with lstat, and only regular files are
unlinked, by name, inside the directory already opened. The cache root is
opened one path component at a time, so a symlink anywhere in it is refused.

Exit codes: 0 done, 1 something failed, 2 refused usage, 3 unsafe cache root.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import subprocess
import sys
import time

# The site's values, baked in at install time by datakeeper.features.sudo_policy
# (in the datakeeper package itself this is empty and allows nothing).
POLICY = {
    "allow": [],
    "caches": {},
    "storage_roots": [],
    "min_age_days": 0,
}

DF = "/usr/bin/df"
DAY = 86400
PARTIAL_MIN_AGE = DAY  # a newer partial download may still be in progress
MAX_DEPTH = 32
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
CONDA_TARBALL = re.compile(r".+\.(tar\.bz2|conda)\Z", re.DOTALL)
HF_REPO = re.compile(r"(models|datasets|spaces)--.+\Z", re.DOTALL)
TORCH_PARTIAL = re.compile(r"(.+\.partial|tmp[a-z0-9_]{8})\Z", re.DOTALL)
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNSAFE = 0, 1, 2, 3


class Refused(Exception):
    """A request the helper will not carry out; the message is one line."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class Cleaner:
    """Removes matching regular files below one opened cache root, never following links."""

    def __init__(self, root: str, now: float) -> None:
        self.root = root
        self.now = now
        self.removed: list[tuple[str, int]] = []
        self.failed: list[str] = []

    def old_enough(self, info: os.stat_result, seconds: float) -> bool:
        """True when the entry was last modified more than ``seconds`` ago (0: always)."""
        return seconds <= 0 or self.now - info.st_mtime > seconds

    def remove_files(self, fd: int, where: str, match, min_age: float) -> None:
        """Unlink regular files in the directory ``fd`` whose name matches, if old enough."""
        for name in _names(fd):
            info = _lstat(name, fd)
            if info is None or not stat.S_ISREG(info.st_mode) or not match(name):
                continue
            if self.old_enough(info, min_age):
                self.unlink(fd, name, f"{where}/{name}", info)

    def remove_tree_contents(self, fd: int, where: str, depth: int = 0) -> None:
        """Unlink every regular file below ``fd`` and remove the directories left empty.

        Stays on the filesystem of ``fd``: a mount point inside is left alone.
        """
        device = os.fstat(fd).st_dev
        for name in _names(fd):
            info = _lstat(name, fd)
            if info is None:
                continue
            if stat.S_ISREG(info.st_mode):
                self.unlink(fd, name, f"{where}/{name}", info)
            elif stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH and info.st_dev == device:
                with Subdir(fd, name) as child:
                    if child is None:
                        continue
                    self.remove_tree_contents(child, f"{where}/{name}", depth + 1)
                with contextlib.suppress(OSError):  # not empty: it kept something
                    os.rmdir(name, dir_fd=fd)

    def unlink(self, fd: int, name: str, shown: str, info: os.stat_result) -> None:
        """Remove the name ``name`` from directory ``fd`` (never what a link points to)."""
        try:
            os.unlink(name, dir_fd=fd)
        except OSError as error:
            self.failed.append(f"{printable(shown)}: {error.strerror}")
            return
        self.removed.append((shown, info.st_size if info.st_nlink <= 1 else 0))


class Subdir:
    """Context manager: a subdirectory opened without following a symlink, or None."""

    def __init__(self, parent_fd: int, name: str) -> None:
        self.parent_fd, self.name, self.fd = parent_fd, name, None

    def __enter__(self) -> int | None:
        try:
            self.fd = os.open(self.name, DIR_FLAGS, dir_fd=self.parent_fd)
        except OSError:
            self.fd = None  # a symlink (ELOOP), not a directory, or gone
        return self.fd

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _names(fd: int) -> list[str]:
    try:
        return sorted(os.listdir(fd))
    except OSError:
        return []


def _lstat(name: str, fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return None


def printable(text: str) -> str:
    """``text`` with control and undecodable characters shown as "?" (no terminal tricks)."""
    return "".join(char if char.isprintable() else "?" for char in text)


def open_root(path: str) -> int:
    """Open the absolute directory ``path`` one component at a time, refusing any symlink."""
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        raise Refused(
            f"cache root {printable(path)} is not a normalized absolute path", EXIT_UNSAFE
        )
    fd = os.open("/", DIR_FLAGS)
    try:
        for part in [p for p in path.split("/") if p]:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except FileNotFoundError:
        os.close(fd)
        raise
    except OSError as error:
        os.close(fd)
        raise Refused(
            f"refusing to clean {printable(path)}: it or a directory above it is a symlink "
            f"or not a directory ({error.strerror})",
            EXIT_UNSAFE,
        ) from error
    return fd


def clean_conda(cleaner: Cleaner, fd: int, min_age: float) -> None:
    """Package tarballs in pkgs/ and everything in pkgs/.trash (extracted dirs stay)."""
    cleaner.remove_files(fd, cleaner.root, CONDA_TARBALL.match, min_age)
    with Subdir(fd, ".trash") as trash:
        if trash is not None:
            cleaner.remove_tree_contents(trash, f"{cleaner.root}/.trash")


def clean_huggingface(cleaner: Cleaner, fd: int, min_age: float) -> None:
    """Abandoned ``blobs/*.incomplete`` downloads and stale ``.locks`` lock files."""
    age = max(min_age, PARTIAL_MIN_AGE)
    for repo in [name for name in _names(fd) if HF_REPO.match(name)]:
        with Subdir(fd, repo) as repo_fd:
            if repo_fd is not None:
                _clean_in(cleaner, repo_fd, f"{repo}/blobs", _suffix(".incomplete"), age)
    _clean_in(cleaner, fd, ".locks", _suffix(".lock"), age)
    with Subdir(fd, ".locks") as locks:
        for name in _names(locks) if locks is not None else []:
            _clean_in(cleaner, locks, f".locks/{name}", _suffix(".lock"), age)


def clean_torch(cleaner: Cleaner, fd: int, min_age: float) -> None:
    """Abandoned partial downloads in ``hub/checkpoints`` (``*.partial``, ``tmpXXXXXXXX``)."""
    age = max(min_age, PARTIAL_MIN_AGE)
    _clean_in(cleaner, fd, "checkpoints", TORCH_PARTIAL.match, age)


def _clean_in(cleaner: Cleaner, fd: int, relative: str, match, min_age: float) -> None:
    """``remove_files`` in the subdirectory named by the last part of ``relative``."""
    with Subdir(fd, relative.rpartition("/")[2]) as sub:
        if sub is not None:
            cleaner.remove_files(sub, f"{cleaner.root}/{relative}", match, min_age)


def _suffix(ending: str):
    return lambda name: name.endswith(ending) and len(name) > len(ending)


CLEANERS = {"conda": clean_conda, "huggingface": clean_huggingface, "torch": clean_torch}


def clean_cache(kind: str, policy: dict, now: float | None = None) -> Cleaner:
    """Clean the shared cache ``kind`` as ``policy`` says; returns what was removed."""
    root = policy["caches"][kind]
    cleaner = Cleaner(root, time.time() if now is None else now)
    fd = open_root(root)
    try:
        CLEANERS[kind](cleaner, fd, policy.get("min_age_days", 0) * DAY)
    finally:
        os.close(fd)
    return cleaner


def human_size(size: int) -> str:
    """``size`` bytes as a short human-readable figure (1024-based)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable


def run_cache_clean(kind: str, policy: dict) -> int:
    """The ``cache-clean KIND`` command: clean, then report what was removed and freed."""
    try:
        cleaner = clean_cache(kind, policy)
    except FileNotFoundError:
        print(f"{kind}: nothing to clean, {printable(policy['caches'][kind])} does not exist")
        return EXIT_OK
    for shown, _size in cleaner.removed:
        print(f"removed {printable(shown)}")
    for problem in cleaner.failed:
        print(f"could not remove {problem}", file=sys.stderr)
    freed = sum(size for _shown, size in cleaner.removed)
    print(
        f"{kind}: removed {len(cleaner.removed)} files, freed {freed} bytes ({human_size(freed)})"
    )
    return EXIT_FAILED if cleaner.failed else EXIT_OK


def run_disk_usage(policy: dict) -> int:
    """The ``disk-usage`` command: ``df -h`` of the storage roots that exist, nothing else."""
    roots = [root for root in policy["storage_roots"] if os.path.isdir(root)]
    if not roots:
        print("no storage root exists", file=sys.stderr)
        return EXIT_FAILED
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    return subprocess.run([DF, "-h", "--", *roots], env=env, check=False).returncode


def parse(argv: list[str], policy: dict) -> tuple[str, str | None]:
    """The (command, kind) in ``argv``, or ``Refused`` for anything the policy does not allow."""
    allow = policy["allow"]
    if argv == ["disk-usage"] and "disk-usage" in allow:
        return "disk-usage", None
    kind = argv[1] if len(argv) == 2 and argv[0] == "cache-clean" else None
    if "cache-clean" in allow and kind in policy["caches"] and kind in CLEANERS:
        return "cache-clean", kind
    shown = printable(" ".join(argv)) or "(nothing)"
    raise Refused(f"refused: {shown}; {usage(policy)}", EXIT_USAGE)


def usage(policy: dict) -> str:
    """One line listing what this site allows."""
    forms = []
    if "disk-usage" in policy["allow"]:
        forms.append("disk-usage")
    if "cache-clean" in policy["allow"] and policy["caches"]:
        forms.append("cache-clean " + "|".join(sorted(policy["caches"])))
    return "allowed: " + ", ".join(forms) if forms else "this site allows no command"


def main(argv: list[str] | None = None, policy: dict | None = None) -> int:
    """Run the command in ``argv`` (default: the process arguments); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    policy = POLICY if policy is None else policy
    try:
        command, kind = parse(argv, policy)
        if command == "disk-usage":
            return run_disk_usage(policy)
        return run_cache_clean(kind, policy)
    except Refused as refused:
        print(f"datakeeper-helper: {refused}", file=sys.stderr)
        return refused.code


if __name__ == "__main__":
    sys.exit(main())
