"""How one cache is cleaned: each method previews what would go, then cleans.

- ``BuiltIn`` (root, shared caches): the sudo helper's cleaners in-process
  (``datakeeper.helper.main.clean_cache``: fd-relative, never following links).
- ``CondaClean`` (root, conda installed, no age given): ``conda clean
  --tarballs --yes`` on the shared package directory, then the built-in
  cleaner for what conda leaves (``.trash``).
- ``HubClean`` (root, HuggingFace): ``huggingface_hub``'s cache scan for the
  revisions (``cache_hf``), the built-in cleaner for abandoned downloads.
- ``Delegate`` (a member, shared caches): ``sudo -n <helper> cache-clean KIND
  [--older-than AGE]``; the preview is the helper's code run read-only.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from datakeeper.errors import LockBusyError
from datakeeper.features.caches.kinds import measure
from datakeeper.features.setup.sudo import helper_policy, shared_cache_dirs
from datakeeper.helper import main as sudo_helper
from datakeeper.helper.walk import DAY, Cleaner, Refused
from datakeeper.i18n import _
from datakeeper.system.lock import exclusive_lock

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

SAMPLE = 20
TOOL_TIMEOUT = 1800
LOCK_TIMEOUT = 10.0
HELPER_SUMMARY = re.compile(r"^\S+: removed (\d+) files, freed (\d+) bytes", re.MULTILINE)


@dataclass
class Preview:
    """What a cleanup would remove: counts, a sample of names, and notes."""

    files: int = 0
    size: int = 0
    sample: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problem: str = ""  # why this cache cannot be cleaned at all (e.g. its root is a link)

    @classmethod
    def of(cls, cleaner: Cleaner) -> Preview:
        """From a dry-run cleaner's record."""
        names = [name for name, _size in cleaner.removed]
        notes = [f"{why}: {where}" for where, why in cleaner.skipped]
        size = sum(size for _name, size in cleaner.removed)
        return cls(len(names), size, names[:SAMPLE], notes)


class CacheMethod(Protocol):
    """What every method offers (``name`` is shown to people)."""

    name: str

    def preview(self) -> Preview:
        """What would be removed; changes nothing."""

    def clean(self) -> Done:
        """Remove it; a busy lock or an unsafe root is a status, not an exception."""


@dataclass
class Done:
    """How a cleanup ended: ``done``, ``nothing``, ``failed``, ``busy`` or ``refused``."""

    status: str
    removed: int = 0
    freed: int = 0
    message: str = ""


@dataclass
class BuiltIn:
    """Root runs the helper's cleaner for a shared cache in-process."""

    cfg: SiteConfig
    kind: str
    age_days: int | None
    name: str = "built-in"
    _last: Cleaner | None = field(default=None, init=False, repr=False)

    def preview(self) -> Preview:
        try:
            return self._run(dry_run=True)
        except Refused as refused:
            return Preview(problem=str(refused))

    def clean(self) -> Done:
        return _guarded(self.kind, lambda: _done(self._run(dry_run=False), self._last))

    def _run(self, *, dry_run: bool) -> Preview:
        policy = {
            "caches": shared_cache_dirs(self.cfg),
            "min_age_days": self.cfg.cache.min_age_days,
        }
        with contextlib.ExitStack() as stack:
            if not dry_run:
                stack.enter_context(shared_cache_lock(self.cfg, self.kind))
            try:
                self._last = sudo_helper.clean_cache(
                    self.kind, policy, older_than_days=self.age_days, dry_run=dry_run
                )
            except FileNotFoundError:
                self._last = Cleaner(policy["caches"][self.kind], time.time(), dry_run)
        return Preview.of(self._last)


@dataclass
class CondaClean(BuiltIn):
    """``conda clean --tarballs`` on the shared package directory, then the built-in cleaner."""

    conda: str = "conda"
    name: str = "conda clean"

    def clean(self) -> Done:
        def run() -> Done:
            before = self.preview()
            path = shared_cache_dirs(self.cfg)[self.kind]
            env = {**os.environ, "CONDA_PKGS_DIRS": path}
            argv = [self.conda, "clean", "--tarballs", "--yes"]
            with shared_cache_lock(self.cfg, self.kind):
                result = _run_tool(argv, env)
            if result is not None:
                return Done("failed", message=result)
            self._run(dry_run=False)  # .trash and anything conda left
            after = self.preview()
            return Done("done", before.files - after.files, before.size - after.size)

        return _guarded(self.kind, run)


@dataclass
class HubClean:
    """Root cleans the HuggingFace hub: revisions through ``huggingface_hub``, then downloads
    abandoned for a day and stale locks through the built-in cleaner."""

    cfg: SiteConfig
    kind: str
    age_days: int | None
    name: str = "huggingface_hub"

    def preview(self) -> Preview:
        partial = BuiltIn(self.cfg, self.kind, None).preview()
        if partial.problem:
            return partial
        hub = self._plan()
        names = [f"{repo} {rev[:12]}" for repo, rev, _size in hub.revisions]
        return Preview(
            len(hub.revisions) + partial.files,
            hub.freed + partial.size,
            (names + partial.sample)[:SAMPLE],
            hub.notes + partial.notes,
        )

    def clean(self) -> Done:
        from datakeeper.features.caches import hf as cache_hf

        def run() -> Done:
            with shared_cache_lock(self.cfg, self.kind):
                hub = self._plan()
                cleaner = Cleaner(str(hub.root), time.time())
                cache_hf.execute(hub, cleaner)
            partial = BuiltIn(self.cfg, self.kind, None)
            rest = _done(partial._run(dry_run=False), partial._last)
            failed = cleaner.failed + ([rest.message] if rest.status == "failed" else [])
            removed = len(hub.revisions) + rest.removed
            return Done(
                "failed" if failed else "done",
                removed,
                hub.freed + rest.freed,
                "; ".join(failed[:3]),
            )

        return _guarded(self.kind, run)

    def _plan(self):
        from datakeeper.features.caches import hf as cache_hf

        root = Path(shared_cache_dirs(self.cfg)[self.kind])
        cutoff = time.time() - max(self.age_days or 0, self.cfg.cache.min_age_days) * DAY
        if not root.is_dir():
            return cache_hf.HfPlan(root)
        return cache_hf.plan(root, cutoff, time.time())


@dataclass
class Delegate:
    """A member cleans a shared cache through the sudo helper (exact arguments only)."""

    cfg: SiteConfig
    kind: str
    age_days: int | None
    name: str = "sudo helper"

    def preview(self) -> Preview:
        try:
            cleaner = sudo_helper.clean_cache(
                self.kind, helper_policy(self.cfg), older_than_days=self.age_days, dry_run=True
            )
        except FileNotFoundError:
            return Preview()
        except Refused as refused:
            return Preview(problem=str(refused))
        return Preview.of(cleaner)

    def clean(self) -> Done:
        argv = ["sudo", "-n", str(self.cfg.sudo.helper_path), "cache-clean", self.kind]
        if self.age_days is not None:
            argv += ["--older-than", f"{self.age_days}d"]
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return Done("failed", message=str(error))
        summary = HELPER_SUMMARY.search(result.stdout)
        removed, freed = (int(summary.group(1)), int(summary.group(2))) if summary else (0, 0)
        if result.returncode == 0:
            return Done("done", removed, freed)
        return Done(_HELPER_STATUS.get(result.returncode, "failed"), removed, freed, _why(result))


_HELPER_STATUS = {sudo_helper.EXIT_BUSY: "busy", sudo_helper.EXIT_UNSAFE: "refused"}


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

    def preview(self) -> Preview:
        usage = measure(self.path)
        return Preview(usage.files, usage.size, [str(self.path)] if usage.files else [])

    def clean(self) -> Done:
        def run() -> Done:
            before = measure(self.path)
            with personal_cache_lock(self.path, self.kind):
                problem = _run_tool(self.argv, dict(os.environ))
            after = measure(self.path)
            freed = max(before.size - after.size, 0)
            removed = max(before.files - after.files, 0)
            return Done("failed" if problem else "done", removed, freed, problem or "")

        return _guarded(self.kind, run)


@dataclass
class Unavailable:
    """A kind that cannot be cleaned here, and why."""

    kind: str
    reason: str
    name: str = "-"

    def preview(self) -> Preview:
        return Preview(problem=self.reason)

    def clean(self) -> Done:
        return Done("refused", message=self.reason)


@contextlib.contextmanager
def shared_cache_lock(cfg: SiteConfig, kind: str) -> Iterator[None]:
    """``<state_dir>/cache-KIND.lock`` (root-only), the one the helper takes too."""
    if not cfg.state_dir.is_dir():  # not set up yet: nobody else can hold it either
        yield
        return
    what = _("the {kind} cache cleanup").format(kind=kind)
    with exclusive_lock(cfg.state_dir / f"cache-{kind}.lock", timeout=LOCK_TIMEOUT, what=what):
        yield


@contextlib.contextmanager
def personal_cache_lock(path: Path, kind: str) -> Iterator[None]:
    """``~/.cache/.datakeeper-KIND.lock``, owned by the user, next to the cache."""
    if not path.parent.is_dir():
        yield
        return
    what = _("the {kind} cache cleanup").format(kind=kind)
    with exclusive_lock(path.parent / f".datakeeper-{kind}.lock", timeout=LOCK_TIMEOUT, what=what):
        yield


def _guarded(kind: str, run) -> Done:
    """Run a cleanup; a busy lock or an unsafe cache root becomes its status."""
    try:
        return run()
    except LockBusyError as error:
        return Done("busy", message=str(error))
    except Refused as refused:
        return Done("refused", message=str(refused))


def _done(preview: Preview, cleaner: Cleaner) -> Done:
    status = "failed" if cleaner.failed else "done"
    return Done(status, preview.files, preview.size, "; ".join(cleaner.failed[:3]))


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
