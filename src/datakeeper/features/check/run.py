"""``datakeeper check``: the configuration test, as PASS / FAIL / SKIP lines.

Everything ``init`` sets up is checked by planning the very same resources (a
resource that plans changes has drifted), plus what no resource expresses:
the storage guard, the whole sudo policy, trusted paths and the registry
against the accounts on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.setup.steps import SetupContext, Step, build_steps
from datakeeper.i18n import _
from datakeeper.storage import inspect
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass(frozen=True)
class CheckResult:
    group: str
    subject: str
    status: str
    detail: str = ""

    def as_dict(self) -> dict:
        return vars(self)


@dataclass
class CheckReport:
    results: list[CheckResult]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count(FAIL) == 0

    def summary(self) -> str:
        return _("{p} passed, {f} failed, {s} skipped").format(
            p=self.count(PASS), f=self.count(FAIL), s=self.count(SKIP)
        )

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "passed": self.count(PASS),
            "failed": self.count(FAIL),
            "skipped": self.count(SKIP),
            "results": [r.as_dict() for r in self.results],
        }


def run_checks(cfg: SiteConfig, config_path: Path) -> CheckReport:
    """Every check, grouped: storage, the six setup steps, sudo, trust, registry."""
    results = check_storage(cfg)
    if cfg.admin is None:
        results.append(
            CheckResult(
                "SETUP", _("site config"), FAIL, _("no admin in the config: run 'datakeeper init'")
            )
        )
        return CheckReport(results)
    for step in build_steps(SetupContext(cfg, config_path)):
        results += check_step(step)
    from datakeeper.features.check.audits import check_registry, check_sudo_policy, check_trust

    results += check_sudo_policy(cfg)
    results += check_trust(cfg, config_path)
    results += check_registry(cfg)
    return CheckReport(results)


def check_storage(cfg: SiteConfig) -> list[CheckResult]:
    """Each storage root must be the persistent disk (the storage guard's view)."""
    results = []
    for root in cfg.storage_roots:
        status = inspect(root)
        if not status.exists and root == cfg.storage.backup_root:
            results.append(CheckResult("PERSISTENT", str(root), SKIP, _("absent")))
        elif status.persistent:
            how = status.mount or _("marked persistent")
            results.append(CheckResult("PERSISTENT", str(root), PASS, how))
        else:
            results.append(CheckResult("PERSISTENT", str(root), FAIL, _("not the persistent disk")))
    return results


def check_step(step: Step) -> list[CheckResult]:
    """One line per resource of ``step``: PASS when it plans nothing."""
    results = [CheckResult(step.key, note, SKIP) for note in step.notes]
    for resource in step.resources:
        try:
            changes = resource.plan()
        except DatakeeperError as error:
            results.append(CheckResult(step.key, resource.id, FAIL, str(error)))
            continue
        if changes:
            detail = "; ".join(change.summary for change in changes)
            results.append(CheckResult(step.key, resource.id, FAIL, detail))
        else:
            results.append(CheckResult(step.key, resource.id, PASS))
    return results


def account_matches(name: str, uid: int, gid: int) -> str | None:
    """Why the live account ``name`` differs from the recorded ids, or None."""
    user = accounts.user_by_name(name)
    if user is None:
        return _("account missing")
    if (user.uid, user.gid) != (uid, gid):
        return _("uid/gid {a}/{b}, recorded {c}/{d}").format(a=user.uid, b=user.gid, c=uid, d=gid)
    return None
