"""``cache list`` and ``cache clean``: which method cleans each cache, plan, clean.

Shared caches (conda, torch, huggingface) are cleaned in-process by root, or
through the sudo helper when a member runs it (the helper accepts only the
fixed ages in ``sudo_helper.OLDER_THAN``); personal ones (pip, uv) by the
user's own tools. Without ``--older-than``, HuggingFace revisions and torch
checkpoints unused for ``DEFAULT_AGE_DAYS`` go, and all conda tarballs (the
extracted packages stay). The site's ``cache.min_age_days`` is a floor for
every age. Nothing is ever removed outside a cache root, nor through a link.

Each cache is a ``CacheCleanup`` resource that the executor converges: as root
inside a change session (storage guard, admin lock, one action-log record per
cache cleaned); as a member without one, since the admin lock and log are
root's (shared caches go through the helper, which takes the cache's own lock,
personal ones through the user's own tool). Either way the executor alone
decides whether anything is removed: ``plan_clean`` is its dry run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine import Executor, Outcome
from datakeeper.engine.session import change_session
from datakeeper.errors import InvalidInputError
from datakeeper.features.caches.kinds import FLAGS, CacheLocation, Usage, locations, measure
from datakeeper.features.caches.methods import (
    BuiltIn,
    CondaClean,
    Delegate,
    HubClean,
    ToolClean,
    Unavailable,
)
from datakeeper.features.caches.report import CleanRun, KindReport
from datakeeper.helper.main import OLDER_THAN
from datakeeper.i18n import _
from datakeeper.resources.cache_cleanup import CacheCleanup, CacheMethod

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

DEFAULT_AGE_DAYS = 30
AGED_KINDS = frozenset({"huggingface", "torch"})


def list_caches(cfg: SiteConfig, home: Path | None = None) -> list[tuple[CacheLocation, Usage]]:
    """Every cache location with its size, file count and oldest access."""
    return [(location, measure(location.path)) for location in locations(cfg, home)]


def plan_clean(
    cfg: SiteConfig, kinds: list[str], age_days: int | None, *, home: Path | None = None
) -> CleanRun:
    """Choose a method for each cache of ``kinds`` and plan its cleanup (a dry run of
    the executor: the storage guard runs, nothing is removed).

    ``InvalidInputError`` for a kind the site does not clean, or an age a member
    cannot pass through sudo.
    """
    missing = [kind for kind in kinds if kind not in cfg.cache.kinds]
    if missing:
        raise InvalidInputError(
            _("{flags}: the site config does not list {kinds} in cache.kinds").format(
                flags=", ".join(FLAGS[k] for k in missing), kinds=", ".join(missing)
            )
        )
    root = running_as_root()
    wanted = [loc for loc in locations(cfg, home) if loc.kind in kinds and loc.cleanable]
    return _converge(cfg, [_cleanup(cfg, loc, age_days, root) for loc in wanted], dry_run=True)


def clean(plan: CleanRun) -> CleanRun:
    """Clean the caches of ``plan``: each is planned again as it is now (as root, under
    the admin lock) and cleaned when there is something to remove."""
    kinds = [KindReport(kind.location, kind.resource, kind.notes) for kind in plan.kinds]
    return _converge(plan.cfg, kinds, dry_run=False)


def running_as_root() -> bool:
    """Root cleans shared caches itself, in a change session; anyone else does not."""
    return os.geteuid() == 0


def _cleanup(cfg: SiteConfig, location: CacheLocation, age: int | None, root: bool) -> KindReport:
    """The resource that cleans one cache, with the age that applies to it."""
    if age is None and location.kind in AGED_KINDS:
        age = DEFAULT_AGE_DAYS
    method = choose_method(cfg, location, age, root=root)
    notes = []
    if age is not None and not location.shared:
        note = _("{tool} empties its whole cache: --older-than does not apply")
        notes.append(note.format(tool=location.kind))
        age = None
    resource = CacheCleanup(location.kind, location.path, method, age, shared=location.shared)
    return KindReport(location, resource, notes)


def _converge(cfg: SiteConfig, kinds: list[KindReport], *, dry_run: bool) -> CleanRun:
    outcome = _execute(cfg, [kind.resource for kind in kinds], dry_run=dry_run)
    for kind in kinds:
        kind.settle(outcome)
    return CleanRun(cfg, dry_run, kinds)


def _execute(cfg: SiteConfig, resources: Sequence[CacheCleanup], *, dry_run: bool) -> Outcome:
    """Root: in a change session. A member: the executor alone; the admin lock and
    the action log are root's, and a member's cleanups go through the helper (which
    locks the shared cache) or the member's own tools."""
    if running_as_root():
        with change_session(cfg, dry_run=dry_run) as session:
            return session.converge(resources, keep_going=True)
    return Executor(dry_run=dry_run, keep_going=True).converge(resources)


def choose_method(
    cfg: SiteConfig, location: CacheLocation, age: int | None, *, root: bool
) -> CacheMethod:
    """The method for one cache (see ``cache_methods``)."""
    kind = location.kind
    if not location.shared:
        return _tool_method(cfg, location)
    if not root:
        _check_member_age(age)
        if not (cfg.sudo.enabled and "cache-clean" in cfg.sudo.allow):
            reason = _("this site does not let members clean shared caches (sudo.allow)")
            return Unavailable(kind, reason)
        return Delegate(cfg, kind, age)
    if kind == "huggingface":
        return HubClean(cfg, kind, age)
    conda = _conda_program(cfg)
    if kind == "conda" and conda is not None and age is None:
        return CondaClean(cfg, kind, age, conda=conda)
    return BuiltIn(cfg, kind, age)


def _check_member_age(age: int | None) -> None:
    allowed = {days: text for text, days in OLDER_THAN.items()}
    if age is not None and age not in allowed:
        raise InvalidInputError(
            _(
                "--older-than {age}d: a member can clean shared caches only with "
                "--older-than {allowed} (the sudo policy allows exactly these)"
            ).format(age=age, allowed=", ".join(OLDER_THAN))
        )


def _tool_method(cfg: SiteConfig, location: CacheLocation) -> CacheMethod:
    if location.kind == "pip":
        pip = shutil.which("pip") or shutil.which("pip3")
        argv = [pip, "cache", "purge"] if pip else None
    else:
        uv = shutil.which("uv") or _existing(cfg.uv_prefix / "bin" / "uv")
        argv = [uv, "cache", "clean"] if uv else None
    if argv is None:
        reason = _("{tool} is not installed here: cannot clean its cache").format(
            tool=location.kind
        )
        return Unavailable(location.kind, reason)
    return ToolClean(location.kind, location.path, argv)


def _conda_program(cfg: SiteConfig) -> str | None:
    return _existing(cfg.conda_prefix / "bin" / "conda") or shutil.which("conda")


def _existing(path: Path) -> str | None:
    return str(path) if os.access(path, os.X_OK) else None
