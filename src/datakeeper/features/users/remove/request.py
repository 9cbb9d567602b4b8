"""What the admin asked ``user remove`` for, and every refusal that needs no change."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from datakeeper.config.rules import RESERVED_NAMES
from datakeeper.errors import InvalidInputError, RefusedError
from datakeeper.features.users.names import check_username_syntax
from datakeeper.i18n import _
from datakeeper.registry import RegistryEntry, read_document
from datakeeper.system import accounts, logindefs

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

DATA_CHOICES = ("keep", "archive", "purge")


def now_stamp() -> str:
    """Local time as ``YYYYmmdd-HHMMSS``, for archive folder names."""
    return time.strftime("%Y%m%d-%H%M%S")


@dataclass(frozen=True)
class RemoveRequest:
    """What the admin asked for. ``data``: keep (default), archive or purge."""

    name: str
    data: str = "keep"
    kill_sessions: bool = False
    stamp: str = field(default_factory=now_stamp)


@dataclass(frozen=True)
class Target:
    """The account to remove (``account`` False: only its registry entry is left)."""

    name: str
    uid: int
    gid: int
    account: bool
    registered: bool

    def as_dict(self) -> dict:
        return asdict(self)


def check_request(cfg: SiteConfig, request: RemoveRequest) -> Target:
    """Every refusal that needs no change: bad name, unknown, protected, no backup root."""
    if request.data not in DATA_CHOICES:
        raise InvalidInputError(_("data: choose one of keep, archive, purge"))
    check_username_syntax(request.name)
    target = find_target(cfg, request.name)
    _check_protected(cfg, target)
    if request.data == "archive":
        _check_backup_root(cfg)
    return target


def find_target(cfg: SiteConfig, name: str) -> Target:
    """The account (or, after a wipe, only its registry entry) called ``name``."""
    entry = registry_entry(cfg, name)
    user = accounts.user_by_name(name)
    if user is not None:
        return Target(name, user.uid, user.gid, True, entry is not None)
    if entry is not None:
        return Target(name, entry.uid, entry.gid, False, True)
    raise InvalidInputError(
        _("user {name}: no such account and not in the registry; check the name").format(name=name)
    )


def registry_entry(cfg: SiteConfig, name: str) -> RegistryEntry | None:
    """The registry's entry for ``name`` (None: none, or no registry yet)."""
    if not cfg.registry_path.exists():
        return None
    return read_document(cfg.registry_path).users.get(name)


def _check_protected(cfg: SiteConfig, target: Target) -> None:
    name = target.name
    if target.uid == 0 or name == "root":
        raise RefusedError(_("refusing to remove root"))
    if cfg.admin is not None and name == cfg.admin:
        raise RefusedError(
            _(
                "{name} is the site admin (admin in the site config); make another account "
                "the admin first"
            ).format(name=name)
        )
    if name in RESERVED_NAMES or target.uid < logindefs.uid_min():
        raise RefusedError(
            _("{name} is a system account (uid {uid}); datakeeper removes only people").format(
                name=name, uid=target.uid
            )
        )
    if os.environ.get("SUDO_USER") == name:
        raise RefusedError(
            _("you are running this as {name} (via sudo); remove it from another account").format(
                name=name
            )
        )


def _check_backup_root(cfg: SiteConfig) -> None:
    root = cfg.storage.backup_root
    if root is None:
        raise InvalidInputError(
            _(
                "--archive needs a backup root: set storage.backup_root in the site config "
                '(e.g. backup_root = "/backup"), or keep the data (no option) or --purge it'
            )
        )
    if not root.is_dir():
        raise RefusedError(
            _("backup root {root} does not exist: mount the backup disk and run again").format(
                root=root
            )
        )
