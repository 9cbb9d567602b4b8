"""How one cache is cleaned: each method scans what would go (read only), and cleans.

The ``CacheCleanup`` resource makes a method's scan its plan and its cleanup its
change, so whether anything is removed is decided by the executor alone.

- ``BuiltIn`` (root, shared caches): the sudo helper's cleaners in-process
  (``datakeeper.helper.main.clean_cache``: fd-relative, never following links).
- ``CondaClean`` (root, conda installed, no age given): ``conda clean
  --tarballs --yes`` on the shared package directory, then the built-in
  cleaner for what conda leaves (``.trash``).
- ``HubClean`` (root, HuggingFace): the built-in cleaner, whose native hub scan
  (``helper.hf_cache``) picks the unused revisions; never ``huggingface_hub``'s
  scan, which opens members' refs unguarded (see ``HubClean``).
- ``Delegate`` (a member, shared caches): ``sudo -n <helper> cache-clean KIND
  [--older-than AGE]``; the scan is the helper's code run read-only.
- ``ToolClean`` (personal caches): ``pip cache purge`` / ``uv cache clean``.
- ``Unavailable``: why this kind cannot be cleaned here.

Root's shared-cache cleanups hold ``<state_dir>/cache-KIND.lock``, the lock
the helper takes, so two cleanups of one cache never race.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from datakeeper import progress
from datakeeper.errors import LockBusyError, RefusedError
from datakeeper.features.caches.kinds import measure
from datakeeper.features.setup.sudo import helper_policy, shared_cache_dirs
from datakeeper.helper import main as sudo_helper
from datakeeper.helper.walk import Cleaner, Refused
from datakeeper.i18n import _
from datakeeper.resources.cache_cleanup import SAMPLE, CacheScan, Cleaned
from datakeeper.system.lock import exclusive_lock
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

TOOL_TIMEOUT = 1800
MAX_NOTES = 10  # repos left alone that a scan names; the rest are counted
LOCK_TIMEOUT = 10.0
HELPER_SUMMARY = re.compile(r"^\S+: removed (\d+) files?, freed (\d+) bytes", re.MULTILINE)
T = TypeVar("T")


def scan_of(cleaner: Cleaner) -> CacheScan:
    """From what a helper's survey (or cleaner) recorded."""
    names = [name for name, _size in cleaner.removed]
    size = sum(size for _name, size in cleaner.removed)
    return CacheScan(len(names), size, names[:SAMPLE], left_alone_notes(cleaner.skipped))


def left_alone_notes(skipped: list[tuple[str, str]]) -> list[str]:
    """What was left alone and why, the first ``MAX_NOTES`` named, the rest counted."""
    notes = [
        _("left alone: {path} ({why})").format(path=printable(where), why=printable(why))
        for where, why in skipped[:MAX_NOTES]
    ]
    if len(skipped) > MAX_NOTES:
        notes.append(_("and {n} more left alone").format(n=len(skipped) - MAX_NOTES))
    return notes


def cleaned_of(cleaner: Cleaner) -> Cleaned:
    """What a helper's cleaner removed, freed and failed to remove."""
    freed = sum(size for _name, size in cleaner.removed)
    return Cleaned(len(cleaner.removed), freed, tuple(cleaner.failed))


@dataclass
class BuiltIn:
    """Root runs the helper's cleaner for a shared cache in-process."""

    cfg: SiteConfig
    kind: str
    age_days: int | None
    name: str = "built-in"

    def scan(self) -> CacheScan:
        return _refusing(lambda: scan_of(self._walk(sudo_helper.scan_cache)))

    def clean(self) -> Cleaned:
        clean = partial(sudo_helper.clean_cache, on_removed=progress.current().advance)
        with shared_cache_lock(self.cfg, self.kind):
            return _refusing(lambda: cleaned_of(self._walk(clean)))

    def _walk(self, walk: Callable[..., Cleaner]) -> Cleaner:
        """The helper's ``scan_cache`` or ``clean_cache`` with the site's policy."""
        policy = {
            "caches": shared_cache_dirs(self.cfg),
            "min_age_days": self.cfg.cache.min_age_days,
        }
        try:
            return walk(self.kind, policy, older_than_days=self.age_days)
        except FileNotFoundError:  # no cache yet: nothing to clean
            return Cleaner(policy["caches"][self.kind], time.time())


@dataclass
class CondaClean(BuiltIn):
    """``conda clean --tarballs`` on the shared package directory, then the built-in cleaner."""

    conda: str = "conda"
    name: str = "conda clean"

    def clean(self) -> Cleaned:
        with shared_cache_lock(self.cfg, self.kind):
            before = self.scan()
            path = shared_cache_dirs(self.cfg)[self.kind]
            env = {**os.environ, "CONDA_PKGS_DIRS": path}
            problem = _run_tool([self.conda, "clean", "--tarballs", "--yes"], env)
            failures = (problem,) if problem is not None else self._clean_rest()
            after = self.scan()
        removed, freed = before.files - after.files, before.size - after.size
        return Cleaned(max(removed, 0), max(freed, 0), failures)

    def _clean_rest(self) -> tuple[str, ...]:
        """The built-in cleaner for ``.trash`` and anything conda left; what failed."""
        return _refusing(lambda: cleaned_of(self._walk(sudo_helper.clean_cache))).failures


@dataclass
class HubClean(BuiltIn):
    """Root cleans the HuggingFace hub with the sudo helper's native scan, in-process.

    Not ``huggingface_hub``'s ``scan_cache_dir``: it opens every ref with a plain
    ``open()``, so a member's FIFO or link to ``/dev/zero`` as a ref hangs root or
    fills its memory, and it counts a blob as freed when only one of its links
    goes. The native scan reads refs through ``read_capped`` and counts only
    what is released; a repo it cannot read safely is left alone, with why.
    """

    name: str = "built-in"


@dataclass
class Delegate:
    """A member cleans a shared cache through the sudo helper (exact arguments only)."""

    cfg: SiteConfig
    kind: str
    age_days: int | None
    name: str = "sudo helper"

    def scan(self) -> CacheScan:
        """The helper's own code, run read-only as the member."""
        policy = helper_policy(self.cfg)
        try:
            survey = sudo_helper.scan_cache(self.kind, policy, older_than_days=self.age_days)
        except FileNotFoundError:
            return CacheScan()
        except Refused as refused:
            raise RefusedError(str(refused)) from None
        return scan_of(survey)

    def clean(self) -> Cleaned:
        argv = ["sudo", "-n", str(self.cfg.sudo.helper_path), "cache-clean", self.kind]
        if self.age_days is not None:
            argv += ["--older-than", f"{self.age_days}d"]
        try:
            # The helper speaks the caller's language; its summary line is read
            # here, so ask for the English one (sudo keeps LANGUAGE).
            env = {**os.environ, "LANGUAGE": "en"}
            result = subprocess.run(
                argv, capture_output=True, text=True, env=env, timeout=TOOL_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return Cleaned(failures=(str(error),))
        summary = HELPER_SUMMARY.search(result.stdout)
        removed, freed = (int(summary.group(1)), int(summary.group(2))) if summary else (0, 0)
        if result.returncode == 0:
            return Cleaned(removed, freed)
        error = _HELPER_ERRORS.get(result.returncode)
        if error is not None:
            raise error(_why(result))
        return Cleaned(removed, freed, (_why(result),))


_HELPER_ERRORS: dict[int, type[Exception]] = {
    sudo_helper.EXIT_BUSY: LockBusyError,
    sudo_helper.EXIT_UNSAFE: RefusedError,
}


def _why(result: subprocess.CompletedProcess) -> str:
    text = (result.stderr or result.stdout).strip()
    if "password is required" in text or "may not run sudo" in text:
        return _(
            "sudo did not allow the helper: are you in the site group, and has the admin run "
            "datakeeper init (the sudo policy)?"
        )
    return text.splitlines()[-1] if text else _("exit code {rc}").format(rc=result.returncode)


@dataclass
class ToolClean:
    """A personal cache emptied by its own tool (``pip cache purge``, ``uv cache clean``)."""

    kind: str
    path: Path
    argv: list[str]

    @property
    def name(self) -> str:
        return " ".join([os.path.basename(self.argv[0]), *self.argv[1:]])

    def scan(self) -> CacheScan:
        usage = measure(self.path)
        return CacheScan(usage.files, usage.size, [str(self.path)] if usage.files else [])

    def clean(self) -> Cleaned:
        before = measure(self.path)
        with personal_cache_lock(self.path, self.kind):
            problem = _run_tool(self.argv, dict(os.environ))
        after = measure(self.path)
        freed = max(before.size - after.size, 0)
        removed = max(before.files - after.files, 0)
        return Cleaned(removed, freed, (problem,) if problem else ())


@dataclass
class Unavailable:
    """A kind that cannot be cleaned here, and why."""

    kind: str
    reason: str
    name: str = "-"

    def scan(self) -> CacheScan:
        raise RefusedError(self.reason)

    def clean(self) -> Cleaned:
        raise RefusedError(self.reason)


@contextlib.contextmanager
def shared_cache_lock(cfg: SiteConfig, kind: str) -> Iterator[None]:
    """``<state_dir>/cache-KIND.lock`` (root-only), the one the helper takes too."""
    if not cfg.state_dir.is_dir():  # not set up yet: nobody else can hold it either
        yield
        return
    what = _("the {kind} cache cleanup").format(kind=kind)
    lock = cfg.state_dir / f"cache-{kind}.lock"
    # A BSD flock, as the sudo helper takes on the same file (system/lock.py).
    with exclusive_lock(lock, timeout=LOCK_TIMEOUT, what=what, local=True):
        yield


@contextlib.contextmanager
def personal_cache_lock(path: Path, kind: str) -> Iterator[None]:
    """``~/.cache/.datakeeper-KIND.lock``, owned by the user, next to the cache."""
    if not path.parent.is_dir():
        yield
        return
    what = _("the {kind} cache cleanup").format(kind=kind)
    lock = path.parent / f".datakeeper-{kind}.lock"
    with exclusive_lock(lock, timeout=LOCK_TIMEOUT, what=what, local=True):
        yield


def _refusing(run: Callable[[], T]) -> T:
    """Run a walk of a cache; the helper's refusal (a link for a root) becomes ours."""
    try:
        return run()
    except Refused as refused:
        raise RefusedError(str(refused)) from None


def _run_tool(argv: list[str], env: dict[str, str]) -> str | None:
    """Run a cache tool; None when it succeeded, else one line saying why not."""
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=TOOL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{argv[0]}: {error}"
    if result.returncode == 0:
        return None
    lines = (result.stderr or result.stdout).strip().splitlines()
    return f"{' '.join(argv)}: " + (lines[-1] if lines else f"exit code {result.returncode}")
