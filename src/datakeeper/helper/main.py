"""datakeeper-helper: the only program group members may run as root (through sudo).

Installed by datakeeper as a single file (root:root 0755, by default
``/usr/local/sbin/datakeeper-helper``) that runs as ``/usr/bin/python3 -I``:
standard library only, isolated from PYTHONPATH, the user's site-packages and
its own directory. Everything it needs is baked into ``POLICY`` at install
time, so it reads no file another user could write, not even the site config.
The ``datakeeper`` modules it imports (``helper.walk``,
``helper.hf_cache``, ``helper.messages``, ``sizes``, ``text``...) are
standard-library only too and are inlined into that one file when it is
rendered. It speaks the caller's language (``helper.messages``): the
translations of its messages are baked in too.

Commands (anything else is refused with exit code 2):
    datakeeper-helper disk-usage          df -h of the storage roots
    datakeeper-helper cache-clean KIND [--older-than AGE]
        clean a SHARED cache (conda, huggingface, torch). AGE is one of
        ``OLDER_THAN``; with it, conda tarballs, HuggingFace revisions no ref
        points to, and torch hub checkpoints and repos unused for that long go.
    datakeeper-helper backup-restore      restore one of the caller's files or
    datakeeper-helper backup-browse       folders from a snapshot, or list them;
        the request comes on stdin (``helper.restore``), the caller is SUDO_UID.

Cleaning walks caches that group members can write, so it never follows a
symlink (``cache_walk``); the cache root is opened one path component at a
time, so a symlink anywhere in it is refused. One cleanup per cache at a
time: a root-only lock file ``cache-KIND.lock`` in the state directory, the
same one the CLI takes.

Exit codes: 0 done, 1 something failed, 2 refused usage, 3 unsafe cache root,
4 another cleanup of that cache is running.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import subprocess
import sys
import time

from datakeeper.helper.hf_cache import HF_REPO, PARTIAL_MIN_AGE, HfRepo
from datakeeper.helper.messages import _, choose_language, ngettext
from datakeeper.helper.restore import MAX_REQUEST, run_backup_browse, run_backup_restore
from datakeeper.helper.walk import (
    DAY,
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNSAFE,
    EXIT_USAGE,
    Cleaner,
    Refused,
    Subdir,
    Survey,
    list_names,
    lock_held,
    lstat_at,
    newest_use,
    open_root,
    printable,
)
from datakeeper.sizes import human_size

# The site's values, baked in at install time by datakeeper.features.setup.sudo
# (in the datakeeper package itself this is empty and allows nothing).
POLICY = {
    "allow": [],
    "caches": {},
    "storage_roots": [],
    "min_age_days": 0,
    "backup": {},
    "language": "en",
}

DF = "/usr/bin/df"
LOCK_WAIT = 60
OLDER_THAN = {"7d": 7, "30d": 30, "90d": 90}
CONDA_TARBALL = re.compile(r".+\.(tar\.bz2|conda)\Z", re.DOTALL)
TORCH_PARTIAL = re.compile(r"(.+\.partial|tmp[a-z0-9_]{8})\Z", re.DOTALL)


def clean_conda(cleaner: Cleaner, fd: int, min_age: float, older_than: float | None) -> None:
    """Package tarballs in pkgs/ and everything in pkgs/.trash (extracted dirs stay)."""
    age = max(min_age, older_than or 0)
    cleaner.remove_files(fd, cleaner.root, CONDA_TARBALL.match, age)
    with Subdir(fd, ".trash") as trash:
        if trash is not None:
            cleaner.remove_tree_contents(trash, f"{cleaner.root}/.trash")


def clean_huggingface(cleaner: Cleaner, fd: int, min_age: float, older_than: float | None) -> None:
    """Old revisions (with an age), abandoned ``.incomplete`` blobs, stale unheld locks."""
    if older_than is not None:
        cutoff = cleaner.now - max(min_age, older_than)
        for repo in [name for name in list_names(fd) if HF_REPO.match(name)]:
            HfRepo(cleaner, fd, repo).remove_unused(cutoff)
    age = max(min_age, PARTIAL_MIN_AGE)
    for repo in [name for name in list_names(fd) if HF_REPO.match(name)]:
        with Subdir(fd, repo) as repo_fd:
            _clean_in(cleaner, repo_fd, f"{repo}/blobs", _suffix(".incomplete"), age)
    _clean_stale_locks(cleaner, fd, age)


def _clean_stale_locks(cleaner: Cleaner, fd: int, age: float) -> None:
    """Old ``.lock`` files in ``.locks`` and its subdirectories that no one holds."""
    with Subdir(fd, ".locks") as locks:
        for name in ["", *list_names(locks)]:
            with Subdir(locks, name or ".") as sub:
                where = f"{cleaner.root}/.locks" + (f"/{name}" if name else "")
                stale = _stale_lock(sub)
                cleaner.remove_files(sub, where, stale, age)


def _stale_lock(fd: int | None):
    return lambda name: name.endswith(".lock") and not lock_held(fd, name)


def clean_torch(cleaner: Cleaner, fd: int, min_age: float, older_than: float | None) -> None:
    """Abandoned partial downloads in ``hub/checkpoints``; with an age, unused
    checkpoints and unused hub repos (directories next to ``checkpoints``)."""
    partial_age = max(min_age, PARTIAL_MIN_AGE)
    _clean_in(cleaner, fd, "checkpoints", TORCH_PARTIAL.match, partial_age)
    if older_than is None:
        return
    age = max(min_age, older_than)
    _clean_in(cleaner, fd, "checkpoints", lambda name: not TORCH_PARTIAL.match(name), age)
    for name in list_names(fd):
        info = lstat_at(name, fd)
        if name == "checkpoints" or info is None or not stat.S_ISDIR(info.st_mode):
            continue
        with Subdir(fd, name) as sub:
            newest = newest_use(sub) if sub is not None else cleaner.now
        if cleaner.now - newest > age:
            cleaner.remove_tree(fd, name, f"{cleaner.root}/{name}")


def _clean_in(cleaner: Cleaner, fd: int | None, relative: str, match, min_age: float) -> None:
    """``remove_files`` in the subdirectory named by the last part of ``relative``."""
    with Subdir(fd, relative.rpartition("/")[2]) as sub:
        if sub is not None:
            cleaner.remove_files(sub, f"{cleaner.root}/{relative}", match, min_age)


def _suffix(ending: str):
    return lambda name: name.endswith(ending) and len(name) > len(ending)


CLEANERS = {"conda": clean_conda, "huggingface": clean_huggingface, "torch": clean_torch}


def clean_cache(
    kind: str,
    policy: dict,
    now: float | None = None,
    older_than_days: int | None = None,
    on_removed=None,
) -> Cleaner:
    """Clean the shared cache ``kind`` as ``policy`` says; returns what was removed.
    ``on_removed`` hears of each entry as it goes (root's in-process progress bar)."""
    when = time.time() if now is None else now
    cleaner = Cleaner(policy["caches"][kind], when, on_removed)
    _walk_cache(cleaner, kind, policy, older_than_days, locked=True)
    return cleaner


def scan_cache(
    kind: str, policy: dict, now: float | None = None, older_than_days: int | None = None
) -> Survey:
    """What ``clean_cache`` would remove now, read only (no lock is taken)."""
    survey = Survey(policy["caches"][kind], time.time() if now is None else now)
    _walk_cache(survey, kind, policy, older_than_days, locked=False)
    return survey


def _walk_cache(
    cleaner: Cleaner, kind: str, policy: dict, older_than_days: int | None, *, locked: bool
) -> None:
    older_than = None if older_than_days is None else older_than_days * DAY
    fd = open_root(cleaner.root)
    try:
        with cache_lock(policy, kind) if locked else contextlib.nullcontext():
            CLEANERS[kind](cleaner, fd, policy.get("min_age_days", 0) * DAY, older_than)
    finally:
        os.close(fd)


@contextlib.contextmanager
def cache_lock(policy: dict, kind: str):
    """Hold ``<lock_dir>/cache-KIND.lock`` (root's, no symlink) while cleaning ``kind``.

    No lock without a lock directory (not set up yet: nobody else can hold it).
    """
    fd = _open_lock(policy.get("lock_dir"), kind)
    try:
        if fd is not None:
            _wait_for_lock(fd, kind)
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _open_lock(lock_dir: str | None, kind: str) -> int | None:
    try:
        dir_fd = open_root(lock_dir) if lock_dir else None
    except FileNotFoundError:
        dir_fd = None
    if dir_fd is None:
        return None
    name = f"{lock_dir}/cache-{kind}.lock"
    try:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        fd = os.open(f"cache-{kind}.lock", flags, 0o600, dir_fd=dir_fd)
    except OSError as error:
        why = _("cannot open lock file {path}: {why}").format(path=name, why=error.strerror)
        raise Refused(why, EXIT_UNSAFE) from None
    finally:
        os.close(dir_fd)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(fd)
        why = _("lock file {path} is not a regular file of root's").format(path=name)
        raise Refused(why, EXIT_UNSAFE)
    return fd


def _wait_for_lock(fd: int, kind: str) -> None:
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                busy = _("another cleanup of {kind} is running").format(kind=kind)
                raise Refused(busy, EXIT_BUSY) from None
            time.sleep(0.1)


def run_cache_clean(kind: str, policy: dict, older_than_days: int | None = None) -> int:
    """The ``cache-clean KIND`` command: clean, then report what was removed and freed."""
    try:
        cleaner = clean_cache(kind, policy, older_than_days=older_than_days)
    except FileNotFoundError:
        root = printable(policy["caches"][kind])
        print(_("{kind}: nothing to clean, {path} does not exist").format(kind=kind, path=root))
        return EXIT_OK
    for shown, _size in cleaner.removed:
        print(_("removed {path}").format(path=printable(shown)))
    for shown, why in cleaner.skipped:
        print(_("left alone ({why}): {path}").format(why=why, path=printable(shown)))
    for problem in cleaner.failed:
        print(_("could not remove {problem}").format(problem=problem), file=sys.stderr)
    print(_summary(kind, cleaner.removed))
    return EXIT_FAILED if cleaner.failed else EXIT_OK


def _summary(kind: str, removed: list[tuple[str, int]]) -> str:
    """The last line, which ``features.caches.methods`` reads (it asks for English)."""
    freed = sum(size for _shown, size in removed)
    return ngettext(
        "{kind}: removed {n} file, freed {bytes} bytes ({size})",
        "{kind}: removed {n} files, freed {bytes} bytes ({size})",
        len(removed),
    ).format(kind=kind, n=len(removed), bytes=freed, size=human_size(freed))


def run_disk_usage(policy: dict) -> int:
    """The ``disk-usage`` command: ``df -h`` of the storage roots that exist, nothing else."""
    roots = [root for root in policy["storage_roots"] if os.path.isdir(root)]
    if not roots:
        print(_("no storage root exists"), file=sys.stderr)
        return EXIT_FAILED
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    return subprocess.run([DF, "-h", "--", *roots], env=env, check=False).returncode


def parse(argv: list[str], policy: dict) -> tuple[str, str | None, int | None]:
    """(command, kind, age in days) in ``argv``, or ``Refused`` for anything not allowed."""
    allow = policy["allow"]
    if argv == ["disk-usage"] and "disk-usage" in allow:
        return "disk-usage", None, None
    if argv in (["backup-restore"], ["backup-browse"]) and _backup_allowed(policy):
        return argv[0], None, None
    age = None
    if len(argv) == 4 and argv[2] == "--older-than" and argv[3] in OLDER_THAN:
        argv, age = argv[:2], OLDER_THAN[argv[3]]
    kind = argv[1] if len(argv) == 2 and argv[0] == "cache-clean" else None
    if "cache-clean" in allow and kind in policy["caches"] and kind in CLEANERS:
        return "cache-clean", kind, age
    shown = printable(" ".join(argv)) or _("(nothing)")
    raise Refused(_("refused: {argv}; {usage}").format(argv=shown, usage=usage(policy)), EXIT_USAGE)


def _backup_allowed(policy: dict) -> bool:
    return "backup-restore" in policy["allow"] and bool(policy.get("backup"))


def usage(policy: dict) -> str:
    """One line listing what this site allows."""
    forms = []
    if "disk-usage" in policy["allow"]:
        forms.append("disk-usage")
    if "cache-clean" in policy["allow"] and policy["caches"]:
        ages = "|".join(OLDER_THAN)
        forms.append(
            "cache-clean " + "|".join(sorted(policy["caches"])) + f" [--older-than {ages}]"
        )
    if _backup_allowed(policy):
        forms.append(_("backup-restore|backup-browse (request on stdin)"))
    if not forms:
        return _("this site allows no command")
    return _("allowed: {commands}").format(commands=", ".join(forms))


BACKUP_COMMANDS = {"backup-restore": run_backup_restore, "backup-browse": run_backup_browse}


def main(argv: list[str] | None = None, policy: dict | None = None) -> int:
    """Run the command in ``argv`` (default: the process arguments); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    policy = POLICY if policy is None else policy
    choose_language(os.environ, policy.get("language"))
    try:
        command, kind, age = parse(argv, policy)
        if command == "disk-usage":
            return run_disk_usage(policy)
        if command in BACKUP_COMMANDS:
            request = sys.stdin.buffer.read(MAX_REQUEST + 1)
            return BACKUP_COMMANDS[command](policy, request, os.environ)
        return run_cache_clean(kind, policy, age)
    except Refused as refused:
        print(f"datakeeper-helper: {refused}", file=sys.stderr)
        return refused.code


if __name__ == "__main__":
    sys.exit(main())
