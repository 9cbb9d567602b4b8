"""Checks no resource expresses: the whole sudo policy, trusted paths, the registry."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.check.result import FAIL, PASS, SKIP, CheckResult
from datakeeper.i18n import _
from datakeeper.paths import INSTALLED_TOOL
from datakeeper.registry import read_document
from datakeeper.resources.sudoers import sudoers_path
from datakeeper.system import accounts, visudo
from datakeeper.trust import audit_trusted_file

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


def check_sudo_policy(cfg: SiteConfig) -> list[CheckResult]:
    """``visudo -c`` over the whole installed policy."""
    if not cfg.sudo.enabled:
        return [CheckResult("SUDO", _("sudo policy"), SKIP, _("disabled in the config"))]
    try:
        visudo.check_policy()
    except DatakeeperError as error:
        return [CheckResult("SUDO", _("sudo policy (visudo -c)"), FAIL, str(error))]
    return [CheckResult("SUDO", _("sudo policy (visudo -c)"), PASS)]


def trusted_paths(cfg: SiteConfig, config_path: Path) -> list[tuple[Path, bool]]:
    """What root runs or trusts, and whether it sits on shared storage."""
    paths = [(config_path, True), (cfg.registry_path, True)]
    tool = cfg.storage.data_root / INSTALLED_TOOL
    if tool.exists():
        paths.append((tool, True))
    if cfg.sudo.enabled:
        paths += [(cfg.sudo.helper_path, False), (sudoers_path(cfg.sudo.dropin_name), False)]
    return paths


def check_trust(cfg: SiteConfig, config_path: Path) -> list[CheckResult]:
    """Nobody but root (and, on shared storage, the admin) can replace what root trusts."""
    results = []
    for path, on_storage in trusted_paths(cfg, config_path):
        problems = _audit(cfg, path, on_storage)
        status = FAIL if problems else PASS
        results.append(CheckResult("TRUST", str(path), status, "; ".join(problems)))
    return results


def _audit(cfg: SiteConfig, path: Path, on_storage: bool) -> list[str]:
    # The storage roots are <admin>:<group> 3775 by design (members may create
    # their own entries there; the sticky bit stops them renaming root's): those
    # roots themselves are accepted as ancestors, nothing else is.
    accepted = set(cfg.storage_roots) if on_storage else set()
    return audit_trusted_file(path, accepted=accepted)


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
        results.append(_registry_line(_("account {name}").format(name=entry.name), problem))
    return results


def _registry_line(subject: str, problem: str | None) -> CheckResult:
    if problem:
        return CheckResult("REGISTRY", subject, FAIL, problem)
    return CheckResult("REGISTRY", subject, PASS)


def account_matches(name: str, uid: int, gid: int) -> str | None:
    """Why the live account ``name`` differs from the recorded ids, or None."""
    user = accounts.user_by_name(name)
    if user is None:
        return _("account missing")
    if (user.uid, user.gid) != (uid, gid):
        return _("uid/gid {a}/{b}, recorded {c}/{d}").format(a=user.uid, b=user.gid, c=uid, d=gid)
    return None
