"""The six setup steps (GROUP, STORAGE, FOLDERS, ADMIN, ENV, SUDO) as resources.

Built from the site config alone, so ``init``, ``check`` and recovery plan the
very same things. The order differs from the original wizard in one place:
STORAGE and FOLDERS come before ADMIN, because the admin's home moves into
``<data_root>/users``, which must exist first.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine import Resource
from datakeeper.features.setup.cache_seal import sealed_hub
from datakeeper.features.setup.completion import completion_resources
from datakeeper.features.setup.envfiles import global_envs_script, member_condarc, system_condarc
from datakeeper.features.setup.software import software_resources
from datakeeper.features.setup.sudo import sudo_resources
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.paths import HOME_ROOT
from datakeeper.registry.live import entry_from_system
from datakeeper.resources import Directory, Group, GroupMembership, ManagedFile, Symlink
from datakeeper.resources.acl import DefaultGroupAcl, default_acl_supported
from datakeeper.resources.home import HomeDirectory, HomeMigration
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.registered import Registered, RegisteredGroup, recorded_group_gid
from datakeeper.resources.seed import SeedFile
from datakeeper.storage import inspect
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.config import FolderSpec, SiteConfig

PROFILE_SCRIPT = Path("/etc/profile.d/global_envs.sh")
SYSTEM_CONDARC = Path("/etc/conda/.condarc")


@dataclass
class Step:
    """One titled group of resources, converged together."""

    key: str
    title: str
    resources: list[Resource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    critical: bool = True  # a failure stops the steps after it
    summary: Callable[[], str | None] | None = None  # a fact to report after the step


@dataclass(frozen=True)
class SetupContext:
    """What the steps need besides the config."""

    cfg: SiteConfig
    config_path: Path
    config_text: bytes | None = None  # the config file to write, or None to leave it


def build_steps(ctx: SetupContext) -> list[Step]:
    """Every step of the setup, in order."""
    return [
        group_step(ctx.cfg),
        storage_step(ctx.cfg),
        folders_step(ctx),
        admin_step(ctx.cfg),
        env_step(ctx),
        sudo_step(ctx.cfg),
    ]


def manifest_of(cfg: SiteConfig) -> OwnedFilesManifest:
    return OwnedFilesManifest(cfg.managed_files_path)


def group_step(cfg: SiteConfig) -> Step:
    """The site group, with the gid the registry recorded (files on storage use it)."""
    gid = recorded_group_gid(cfg.registry_path, cfg.group)
    resources = [Group(cfg.group, gid), RegisteredGroup(cfg.group, cfg.registry_path)]
    return Step("GROUP", _("the shared group"), resources, summary=lambda: _group_fact(cfg.group))


def _group_fact(name: str) -> str | None:
    group = accounts.group_by_name(name)
    return _("group {name} has gid {gid}").format(name=name, gid=group.gid) if group else None


def storage_step(cfg: SiteConfig) -> Step:
    """The storage roots, ``root:<group>`` with ``storage.root_mode`` (3775): the admin and
    members create folders through the group bit, and the sticky bit keeps everyone's
    entries theirs. Root owns the roots because root runs what lies below them (the
    installed datakeeper, conda, uv): an owner could rename ``apps`` away and plant
    another. A root owned by the admin (an older datakeeper's layout) is fixed here."""
    owner = Ownership("root", cfg.group, cfg.storage.root_mode)
    step = Step("STORAGE", _("the storage roots"), [Directory(cfg.storage.data_root, owner)])
    backup = cfg.storage.backup_root
    if backup is not None and backup.is_dir() and inspect(backup).persistent:
        step.resources.append(Directory(backup, owner))
    elif backup is not None and backup.is_dir():
        # Its disk failed to mount: recovery goes on without it (``check`` warns).
        step.notes.append(_("backup root {path} is not mounted: skipped").format(path=backup))
    elif backup is not None:
        step.notes.append(_("backup root {path} is absent: skipped").format(path=backup))
    return step


def folders_step(ctx: SetupContext) -> Step:
    cfg = ctx.cfg
    step = Step("FOLDERS", _("the folder layout"))
    for folder in cfg.folders_parents_first():
        path = cfg.storage.data_root / folder.path
        owner = "root" if folder.owner == "root" else _admin(cfg)
        step.resources.append(Directory(path, Ownership(owner, cfg.group, folder.mode)))
    if cfg.acl:
        _add_default_acls(cfg, step)
    if ctx.config_text is not None:
        step.resources.append(
            ManagedFile(
                ctx.config_path,
                ctx.config_text,
                Ownership("root", "root", 0o644),
                manifest_of(cfg),
                replace_unmanaged=True,
            )
        )
    return step


def _add_default_acls(cfg: SiteConfig, step: Step) -> None:
    shared = [f for f in cfg.folders_parents_first() if _group_writable(f)]
    if not default_acl_supported(cfg.storage.data_root):
        step.notes.append(
            _(
                "default ACLs are not supported on {root} (e.g. NFSv3 with noacl): "
                "members must keep umask {umask:03o}"
            ).format(root=cfg.storage.data_root, umask=cfg.home.umask)
        )
        return
    step.resources += [DefaultGroupAcl(cfg.storage.data_root / f.path) for f in shared]


def _group_writable(folder: FolderSpec) -> bool:
    return bool(folder.mode & stat.S_IWGRP) and folder.owner != "root"


def admin_step(cfg: SiteConfig) -> Step:
    admin = _admin(cfg)
    persistent = cfg.users_dir / admin
    link = HOME_ROOT / admin
    private_group = _primary_group_name(admin)
    dotfile = Ownership(admin, private_group, 0o644)
    resources: list[Resource] = [
        GroupMembership(admin, cfg.group),
        HomeDirectory(persistent, admin, private_group, cfg.home.mode),
        HomeMigration(link, persistent),
        Symlink(link, persistent),
        SeedFile(persistent / ".condarc", member_condarc(cfg), dotfile),
        Registered(admin, cfg.registry_path, lambda: entry_from_system(admin)),
    ]
    return Step("ADMIN", _("the admin account {name}").format(name=admin), resources)


def env_step(ctx: SetupContext) -> Step:
    cfg = ctx.cfg
    manifest = manifest_of(cfg)
    readable = Ownership("root", "root", 0o644)
    resources: list[Resource] = [
        ManagedFile(
            PROFILE_SCRIPT,
            global_envs_script(cfg),
            readable,
            manifest,
            replace_unmanaged=True,
        ),
        Directory(SYSTEM_CONDARC.parent, Ownership("root", "root", 0o755)),
        ManagedFile(
            SYSTEM_CONDARC, system_condarc(cfg), readable, manifest, replace_unmanaged=True
        ),
        *sealed_hub(cfg.resolved_env()[0]),  # members cannot change each other's downloads
    ]
    resources += software_resources(cfg)
    resources += completion_resources(manifest)
    return Step("ENV", _("environment variables, conda and uv"), resources, critical=False)


def sudo_step(cfg: SiteConfig) -> Step:
    step = Step("SUDO", _("the sudo policy for the group"), critical=False)
    if not cfg.sudo.enabled:
        step.notes.append(_("sudo is disabled in the config: skipped"))
        return step
    step.resources = sudo_resources(cfg, manifest_of(cfg))
    return step


def _admin(cfg: SiteConfig) -> str:
    if cfg.admin is None:
        raise ValueError("setup steps need cfg.admin; init validates it first")
    return cfg.admin


def _primary_group_name(user: str) -> str:
    info = accounts.user_by_name(user)
    group = accounts.group_by_gid(info.gid) if info else None
    return group.name if group else user
