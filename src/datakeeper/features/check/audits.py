"""Checks no resource expresses: the whole sudo policy and the registry (trusted paths:
``trusted``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.check.result import FAIL, PASS, SKIP, CheckResult
from datakeeper.features.users.groups import registry_warnings
from datakeeper.i18n import _
from datakeeper.registry import read_document
from datakeeper.status import CheckStatus
from datakeeper.system import accounts, visudo
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

WARN = CheckStatus.WARN


def check_sudo_policy(cfg: SiteConfig) -> list[CheckResult]:
    """``visudo -c`` over the whole installed policy."""
    if not cfg.sudo.enabled:
        return [CheckResult("SUDO", _("sudo policy"), SKIP, _("disabled in the config"))]
    try:
        visudo.check_policy()
    except DatakeeperError as error:
        return [CheckResult("SUDO", _("sudo policy (visudo -c)"), FAIL, str(error))]
    return [CheckResult("SUDO", _("sudo policy (visudo -c)"), PASS)]


def check_registry(cfg: SiteConfig) -> list[CheckResult]:
    """Every recorded account and group exists here with the recorded ids."""
    if not cfg.registry_path.exists():
        return [CheckResult("REGISTRY", str(cfg.registry_path), FAIL, _("missing"))]
    try:
        document = read_document(cfg.registry_path)
    except DatakeeperError as error:
        return [CheckResult("REGISTRY", str(cfg.registry_path), FAIL, str(error))]
    results = []
    for name, gid in document.groups.items():
        group = accounts.group_by_name(name)
        problem = None if group and group.gid == gid else _("group missing or gid differs")
        results.append(_registry_line(_("group {name}").format(name=name), problem))
    for entry in document.users.values():
        problem = account_matches(entry.name, entry.uid, entry.gid)
        subject = _("account {name}").format(name=entry.name)
        results.append(_registry_line(subject, problem))
        # Root-equivalent groups: allowed ones, and recorded ones recovery leaves out.
        results += [
            CheckResult("REGISTRY", subject, WARN, w) for w in registry_warnings(cfg, entry)
        ]
    return results


def missing_accounts(cfg: SiteConfig) -> list[str]:
    """Registered accounts that do not exist here: after a wipe, before ``recover``."""
    try:
        document = read_document(cfg.registry_path)
    except (DatakeeperError, OSError):
        return []
    return sorted(name for name in document.users if accounts.user_by_name(name) is None)


def _registry_line(subject: str, problem: str | None) -> CheckResult:
    if problem:
        return CheckResult("REGISTRY", subject, FAIL, problem)
    return CheckResult("REGISTRY", subject, PASS)


def account_matches(name: str, uid: int, gid: int) -> str | None:
    """Why the live account ``name`` differs from the recorded ids, or None."""
    user = accounts.user_by_name(name)
    holder = accounts.user_by_uid(uid)
    if holder is not None and holder.name != name:  # recover would fail on it
        return _("uid {uid} is held here by local account {other}").format(
            uid=uid, other=printable(holder.name)
        )
    if user is None:
        return _("account missing")
    if (user.uid, user.gid) != (uid, gid):
        return _("uid/gid {a}/{b}, recorded {c}/{d}").format(a=user.uid, b=user.gid, c=uid, d=gid)
    return None
