"""``datakeeper user remove``: offboard a researcher without losing data by accident.

First a read-only preview (size of their data, groups, sessions, processes,
scheduled jobs); the front end shows it and asks. Then, in one change session
(storage guard, admin lock, action log), every step is a planned change: lock
the account, remove crontab and at jobs, end processes, keep / archive /
purge the persistent home, forget the registry entry, remove the home link,
delete the account (``userdel`` without ``-r``). Data is kept by default.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.config.rules import RESERVED_NAMES
from datakeeper.engine import Change, Resource
from datakeeper.engine.session import change_session
from datakeeper.errors import InvalidInputError, RefusedError
from datakeeper.features.users import sessions
from datakeeper.features.users.names import check_username_syntax
from datakeeper.features.users.remove import account as account_steps
from datakeeper.features.users.remove import home_data as data
from datakeeper.features.users.remove.account import Step, Target, link_state
from datakeeper.i18n import _
from datakeeper.paths import HOME_ROOT
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


@dataclass
class RemovalPreview:
    """Everything shown before asking: who, their data, what still runs as them."""

    target: Target
    groups: tuple[str, ...]
    home: data.HomeState
    link: dict
    sessions: list[sessions.LoginSession]
    processes: list[sessions.UserProcess]
    archive_to: Path | None = None

    @property
    def busy(self) -> bool:
        return bool(self.sessions or self.processes)

    def as_dict(self) -> dict:
        return {
            **self.target.as_dict(),
            "groups": list(self.groups),
            "data": self.home.as_dict(),
            "home_link": self.link,
            "sessions": [s.as_dict() for s in self.sessions],
            "processes": [p.as_dict() for p in self.processes],
            "archive_to": str(self.archive_to) if self.archive_to else None,
        }


@dataclass
class RemovalReport:
    """What a removal planned and did, and where the data is now."""

    preview: RemovalPreview
    data_action: str
    dry_run: bool
    planned: list[Change] = field(default_factory=list)
    applied: list[Change] = field(default_factory=list)

    @property
    def data_location(self) -> str | None:
        """Where the user's data is after the run (None: there was none, or it was purged)."""
        home = self.preview.home
        if home.kind == "missing" or self.data_action == "purge":
            return None
        if self.data_action == "archive" and home.kind == "directory":
            return str(self.preview.archive_to)
        return str(home.path)

    def as_dict(self) -> dict:
        return {
            "user": self.preview.as_dict(),
            "dry_run": self.dry_run,
            "data_action": self.data_action,
            "data_location": self.data_location,  # in a dry run: where it would be
            "planned": [c.as_dict() for c in self.planned],
            "applied": [c.as_dict() for c in self.applied],
        }


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
    entry = _registry_entry(cfg, name)
    user = accounts.user_by_name(name)
    if user is not None:
        return Target(name, user.uid, user.gid, True, entry is not None)
    if entry is not None:
        return Target(name, entry.uid, entry.gid, False, True)
    raise InvalidInputError(
        _("user {name}: no such account and not in the registry; check the name").format(name=name)
    )


def _registry_entry(cfg: SiteConfig, name: str) -> RegistryEntry | None:
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


def preview_removal(cfg: SiteConfig, request: RemoveRequest) -> RemovalPreview:
    """Check the request, look at everything, refuse an unsafe data step; changes nothing."""
    target = check_request(cfg, request)
    home = data.inspect_home(cfg.users_dir / request.name)
    archive_to = None
    if request.data == "archive" and cfg.storage.backup_root is not None:
        archive_to = data.archive_destination(cfg.storage.backup_root, target.name, request.stamp)
    preview = RemovalPreview(
        target=target,
        groups=_groups(cfg, target),
        home=home,
        link=link_state(HOME_ROOT / target.name, home.path),
        sessions=sessions.login_sessions(target.name),
        processes=sessions.user_processes(target.uid),
        archive_to=archive_to,
    )
    check_data_step(preview, request)
    return preview


def _groups(cfg: SiteConfig, target: Target) -> tuple[str, ...]:
    if target.account:
        primary = accounts.group_by_gid(target.gid)
        names = {*accounts.supplementary_groups(target.name)}
        return tuple(sorted(names | ({primary.name} if primary else set())))
    entry = _registry_entry(cfg, target.name)
    return tuple(sorted({entry.primary_group, *entry.groups})) if entry else ()


def check_not_busy(preview: RemovalPreview, request: RemoveRequest) -> None:
    """Refuse while the user is logged in or runs processes, unless told to end them."""
    if preview.busy and not request.kill_sessions:
        raise _busy(request.name, len(preview.sessions), len(preview.processes))


def _busy(name: str, logins: int, processes: int) -> RefusedError:
    return RefusedError(
        _(
            "{name} is logged in or running processes ({s} session(s), {p} process(es)); "
            "pass --kill-sessions to end them"
        ).format(name=name, s=logins, p=processes)
    )


def check_data_step(preview: RemovalPreview, request: RemoveRequest) -> None:
    """Refuse an archive or purge that would be unsafe or could not fit."""
    if request.data == "keep":
        return
    data.check_movable(preview.home, preview.target.uid)
    if request.data == "archive" and preview.archive_to is not None:
        data.check_space(preview.home, preview.archive_to)


def remove_user(
    cfg: SiteConfig,
    request: RemoveRequest,
    preview: RemovalPreview,
    *,
    dry_run: bool,
    on_change: Callable[[Change, str], None] | None = None,
) -> RemovalReport:
    """Remove the user previewed (and confirmed); under the lock, look again first."""
    check_not_busy(preview, request)
    check_data_step(preview, request)
    with change_session(cfg, dry_run=dry_run) as session:
        _recheck(cfg, request, preview)
        outcome = session.converge(removal_steps(cfg, request, preview), on_change=on_change)
    return RemovalReport(preview, request.data, dry_run, outcome.planned, outcome.applied)


def _recheck(cfg: SiteConfig, request: RemoveRequest, preview: RemovalPreview) -> None:
    """What was confirmed must still hold now that the lock is held."""
    if check_request(cfg, request) != preview.target:
        raise RefusedError(_("{name} changed since it was inspected; run again").format(
            name=request.name))  # fmt: skip
    now = data.inspect_home(preview.home.path, measure=False)
    if (now.kind, now.ident) != (preview.home.kind, preview.home.ident):
        raise RefusedError(_("{path} changed since it was inspected; run again").format(
            path=preview.home.path))  # fmt: skip
    if not request.kill_sessions:
        logins = sessions.login_sessions(request.name)
        running = sessions.user_processes(preview.target.uid)
        if logins or running:
            raise _busy(request.name, len(logins), len(running))


def removal_steps(
    cfg: SiteConfig, request: RemoveRequest, preview: RemovalPreview
) -> list[Resource]:
    """Every step of the removal, in order."""
    target = preview.target
    name = target.name
    steps: list[Resource] = []
    if target.account:
        steps += [
            Step(f"account {name}", lambda: account_steps.plan_lock(name)),
            Step(f"crontab {name}", lambda: sessions.plan_remove_crontab(name)),
            Step(f"at jobs {name}", lambda: sessions.plan_remove_at_jobs(name)),
        ]
    if request.kill_sessions:  # otherwise a process started since the check makes userdel fail
        steps.append(
            Step(f"processes {name}", lambda: sessions.plan_end_processes(name, target.uid))
        )
    steps += data.data_steps(request.data, preview.home, preview.archive_to)
    steps += [
        Step(
            f"registry {name}",
            lambda: account_steps.plan_unregister(cfg.registry_path, name),
            (cfg.registry_path,),
        ),
        Step(
            f"symlink {HOME_ROOT / name}",
            lambda: account_steps.plan_unlink_home(HOME_ROOT / name, preview.home.path),
        ),
        Step(f"account {name}", lambda: account_steps.plan_delete_account(name)),
    ]
    return steps
