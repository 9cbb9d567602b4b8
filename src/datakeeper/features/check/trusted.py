"""The trust audit of ``datakeeper check``: everything root runs, sources or trusts.

That is the site config and the registry, the installed datakeeper (what the
boot units and the hook line start), Miniconda's ``conda.sh`` (sourced by every
login shell, root's included) and ``conda``, ``uv``/``uvx``, whatever is linked
into ``/usr/local`` or ``/etc/profile.d`` from persistent storage, the disk
alert's hook, the sudo helper and its drop-in. Each must be root's all the way
up (``datakeeper.trust``); the storage roots get no exception. The storage roots
come first, with the fix for a root another account owns (an older layout).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.features.check.result import FAIL, PASS, CheckResult
from datakeeper.i18n import _
from datakeeper.paths import INSTALLED_TOOL
from datakeeper.resources.sudoers import sudoers_path
from datakeeper.system import accounts
from datakeeper.trust import audit_trusted_file

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

# Where links put programs and shell snippets on root's PATH or into login shells.
LINK_DIRS = (Path("/usr/local/bin"), Path("/usr/local/sbin"), Path("/etc/profile.d"))


def check_trust(
    cfg: SiteConfig, config_path: Path, link_dirs: tuple[Path, ...] = LINK_DIRS
) -> list[CheckResult]:
    """One line per storage root (root's?), then one per path root trusts."""
    results = [_storage_root_line(cfg, root) for root in cfg.storage_roots if root.is_dir()]
    for path in trusted_paths(cfg, config_path, link_dirs):
        problems = audit_trusted_file(path)
        status = FAIL if problems else PASS
        results.append(CheckResult("TRUST", str(path), status, "; ".join(problems)))
    return results


def trusted_paths(
    cfg: SiteConfig, config_path: Path, link_dirs: tuple[Path, ...] = LINK_DIRS
) -> list[Path]:
    """What root runs, sources or trusts, without repeats (programs only once present)."""
    paths = [Path(os.path.abspath(config_path)), cfg.registry_path]
    programs = [cfg.storage.data_root / INSTALLED_TOOL]
    if cfg.conda.enabled:
        programs += [cfg.conda_prefix / "etc/profile.d/conda.sh", cfg.conda_prefix / "bin/conda"]
    if cfg.uv.enabled:
        programs += [cfg.uv_prefix / "bin/uv", cfg.uv_prefix / "bin/uvx"]
    paths += [path for path in programs if os.path.lexists(path)]
    paths += linked_from_storage(cfg.storage_roots, link_dirs)
    if cfg.alert.hook is not None:
        paths.append(cfg.alert.hook)
    if cfg.sudo.enabled:
        paths += [cfg.sudo.helper_path, sudoers_path(cfg.sudo.dropin_name)]
    return list(dict.fromkeys(paths))


def linked_from_storage(roots: list[Path], link_dirs: tuple[Path, ...]) -> list[Path]:
    """The resolved targets of the links in ``link_dirs`` that lead onto storage."""
    found: list[Path] = []
    for folder in link_dirs:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.is_symlink():
                continue
            target = Path(os.path.realpath(entry.path))
            if any(target.is_relative_to(root) for root in roots):
                found.append(target)
    return found


def _storage_root_line(cfg: SiteConfig, root: Path) -> CheckResult:
    owner = os.lstat(root).st_uid
    if owner == 0:
        return CheckResult("TRUST", str(root), PASS, _("owned by root"))
    found = accounts.user_by_uid(owner)
    detail = _(
        "owned by {owner}: root runs programs below it, and its owner can rename any "
        "entry and put another in its place; fix: datakeeper check --fix (makes it "
        "root:{group})"
    ).format(owner=found.name if found else f"uid {owner}", group=cfg.group)
    return CheckResult("TRUST", str(root), FAIL, detail)
