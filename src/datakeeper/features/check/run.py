"""``datakeeper check``: the configuration test, as PASS / FAIL / SKIP lines.

Everything ``init`` sets up, and what the admin enabled since (boot recovery,
the disk alert schedule, packages: see ``features.enabled``), is checked by
planning the very same resources those commands converge (a resource that
plans changes has drifted; its FAIL line names the change), plus what no
resource expresses (``audits``): the storage guard, the whole sudo policy,
trusted paths and the registry against the accounts on this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.check.audits import check_registry, check_sudo_policy, missing_accounts
from datakeeper.features.check.homes import check_home_layouts
from datakeeper.features.check.result import FAIL, PASS, SKIP, WARN, CheckReport, CheckResult
from datakeeper.features.check.trusted import check_trust
from datakeeper.features.cluster.check import check_node
from datakeeper.features.enabled import enabled_steps
from datakeeper.features.gpu.check import check_gpu_driver
from datakeeper.features.setup.steps import SetupContext, Step, build_steps
from datakeeper.i18n import _, ngettext
from datakeeper.storage import backup_missing_note, inspect

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

__all__ = ["FAIL", "PASS", "SKIP", "CheckReport", "CheckResult", "run_checks"]


def run_checks(cfg: SiteConfig, config_path: Path) -> CheckReport:
    """Every check, grouped: storage, trust, the six setup steps, what the admin enabled
    since (boot recovery, the disk alert schedule, packages), sudo, registry."""
    results = check_storage(cfg)
    # Trust first: what root runs from storage is judged before anything else looks there.
    results += check_trust(cfg, config_path)
    if cfg.admin is None:
        results.append(
            CheckResult(
                "SETUP", _("site config"), FAIL, _("no admin in the config: run 'datakeeper init'")
            )
        )
        return CheckReport(results)
    for step in build_steps(SetupContext(cfg, config_path)):
        results += check_step(step)
    for step in enabled_steps(cfg, config_path):
        results += check_step(step)
    results += check_sudo_policy(cfg)
    results += check_registry(cfg)
    results += check_node(cfg)
    results += check_home_layouts(cfg)
    results += check_gpu_driver()
    return CheckReport(results, *_recovery_advice(cfg))


def _recovery_advice(cfg: SiteConfig) -> tuple[list[str], str | None]:
    """After a wipe most lines fail for one reason: say so first, and what fixes it."""
    missing = missing_accounts(cfg)
    if not missing:
        return [], None
    advice = ngettext(
        "{n} registered account is missing on this server ({names}): the system disk "
        "was probably wiped. 'sudo datakeeper recover' brings it back with the same ids, "
        "and most lines below with it.",
        "{n} registered accounts are missing on this server ({names}): the system disk "
        "was probably wiped. 'sudo datakeeper recover' brings them back with the same ids, "
        "and most lines below with them.",
        len(missing),
    ).format(n=len(missing), names=", ".join(missing[:5]) + (" …" if len(missing) > 5 else ""))
    return [advice], "sudo datakeeper recover"


def check_storage(cfg: SiteConfig) -> list[CheckResult]:
    """Each storage root must be the persistent disk (the storage guard's view); a backup
    disk that is not mounted is only a warning: recovery runs without it."""
    results = []
    for root in cfg.storage_roots:
        status = inspect(root)
        if not status.exists and root == cfg.storage.backup_root:
            results.append(CheckResult("PERSISTENT", str(root), SKIP, _("absent")))
        elif not status.persistent and root == cfg.storage.backup_root:
            results.append(CheckResult("PERSISTENT", str(root), WARN, backup_missing_note()))
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
