"""``cache list`` and ``cache clean``: which method cleans each cache, preview, clean.

Shared caches (conda, torch, huggingface) are cleaned in-process by root, or
through the sudo helper when a member runs it (the helper accepts only the
fixed ages in ``sudo_helper.OLDER_THAN``); personal ones (pip, uv) by the
user's own tools. Without ``--older-than``, HuggingFace revisions and torch
checkpoints unused for ``DEFAULT_AGE_DAYS`` go, and all conda tarballs (the
extracted packages stay). The site's ``cache.min_age_days`` is a floor for
every age. Nothing is ever removed outside a cache root, nor through a link.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import ExitCode, InvalidInputError
from datakeeper.features.caches.kinds import FLAGS, CacheLocation, Usage, locations, measure
from datakeeper.features.caches.methods import (
    BuiltIn,
    CacheMethod,
    CondaClean,
    Delegate,
    Done,
    HubClean,
    Preview,
    ToolClean,
    Unavailable,
)
from datakeeper.helper.main import OLDER_THAN
from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

DEFAULT_AGE_DAYS = 30
AGED_KINDS = frozenset({"huggingface", "torch"})


@dataclass
class KindPlan:
    """One cache to clean: where, how, with which age, what would go, and how it went."""

    location: CacheLocation
    method: CacheMethod
    age_days: int | None
    preview: Preview
    done: Done | None = None

    def as_dict(self) -> dict:
        """JSON-able: the cache, the method, the preview and the outcome."""
        result = {
            "kind": self.location.kind,
            "label": self.location.label,
            "path": str(self.location.path),
            "shared": self.location.shared,
            "method": self.method.name,
            "older_than_days": self.age_days,
            "planned_files": self.preview.files,
            "planned_bytes": self.preview.size,
            "sample": self.preview.sample,
            "notes": self.preview.notes,
            "problem": self.preview.problem,
        }
        if self.done is not None:
            result.update(status=self.done.status, removed=self.done.removed)
            result.update(freed_bytes=self.done.freed, message=self.done.message)
        return result


def list_caches(cfg: SiteConfig, home: Path | None = None) -> list[tuple[CacheLocation, Usage]]:
    """Every cache location with its size, file count and oldest access."""
    return [(location, measure(location.path)) for location in locations(cfg, home)]


def plan_clean(
    cfg: SiteConfig, kinds: list[str], age_days: int | None, *, home: Path | None = None
) -> list[KindPlan]:
    """Choose a method for each cache of ``kinds`` and preview it; changes nothing.

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
    root = os.geteuid() == 0
    plans = []
    for location in locations(cfg, home):
        if location.kind not in kinds or not location.cleanable:
            continue
        age = age_days
        if age is None and location.kind in AGED_KINDS:
            age = DEFAULT_AGE_DAYS
        method = choose_method(cfg, location, age, root=root)
        plan = KindPlan(location, method, age, method.preview())
        if age is not None and not location.shared:
            plan.age_days = None
            note = _("{tool} empties its whole cache: --older-than does not apply")
            plan.preview.notes.append(note.format(tool=location.kind))
        plans.append(plan)
    return plans


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


def clean(plans: list[KindPlan]) -> list[KindPlan]:
    """Clean each planned cache that has something to remove; fills in ``done``."""
    for plan in plans:
        if plan.preview.problem:
            plan.done = Done("refused", message=plan.preview.problem)
        elif plan.preview.files:
            plan.done = plan.method.clean()
        else:
            plan.done = Done("nothing")
    return plans


def exit_code(plans: list[KindPlan]) -> ExitCode:
    """OK when every cache is clean; BUSY when the only trouble was a held lock; else FAILURE."""
    troubles = {p.done.status for p in plans if p.done and p.done.status not in ("done", "nothing")}
    if not troubles:
        return ExitCode.OK
    return ExitCode.BUSY if troubles == {"busy"} else ExitCode.FAILURE


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
