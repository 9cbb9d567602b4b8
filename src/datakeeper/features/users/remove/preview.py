"""What ``user remove`` shows before it asks: who, their data, what still runs as them.

Read-only: the request is checked, the account, home, link, sessions and
processes are looked at, and an unsafe data step is refused, all before the
admin is asked anything. The text lines are written here once, for the
command line and the menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import RefusedError
from datakeeper.features.users.remove import home_data as data
from datakeeper.features.users.remove.request import (
    RemoveRequest,
    Target,
    check_request,
    registry_entry,
)
from datakeeper.i18n import _, ngettext
from datakeeper.paths import HOME_ROOT
from datakeeper.resources.symlink_absent import LinkState, link_state
from datakeeper.sizes import human_size
from datakeeper.system import accounts, activity
from datakeeper.system.home_move import HomeState, inspect_home

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

PROCESSES_SHOWN = 8


@dataclass
class RemovalPreview:
    """Everything shown before asking, for the data choice ``data``."""

    target: Target
    groups: tuple[str, ...]
    home: HomeState
    link: LinkState
    sessions: list[activity.LoginSession]
    processes: list[activity.UserProcess]
    archive_to: Path | None = None
    data: str = "keep"

    @property
    def busy(self) -> bool:
        return bool(self.sessions or self.processes)

    def as_dict(self) -> dict:
        return {
            **self.target.as_dict(),
            "groups": list(self.groups),
            "data": self.home.as_dict(),
            "home_link": self.link.as_dict(),
            "sessions": [s.as_dict() for s in self.sessions],
            "processes": [p.as_dict() for p in self.processes],
            "archive_to": str(self.archive_to) if self.archive_to else None,
        }

    def lines(self) -> list[str]:
        """The preview as lines of text."""
        target = self.target
        gone = "" if target.account else _(", account already gone")
        return [
            _("Remove {name} (uid {uid}, gid {gid}{gone})").format(
                name=target.name, uid=target.uid, gid=target.gid, gone=gone
            ),
            _("  groups:     {groups}").format(groups=", ".join(self.groups) or "-"),
            _("  data:       {data}").format(data=_describe_home(self.home)),
            _("  home link:  {link}").format(link=_describe_link(self.link)),
            _("  sessions:   {s}").format(s=self._sessions() or _("none")),
            _("  processes:  {p}").format(p=self._processes() or _("none")),
            _("  their data: {fate}").format(fate=self._fate()),
        ]

    def _sessions(self) -> str:
        return ", ".join(f"{s.terminal or '?'} {s.host}".strip() for s in self.sessions)

    def _processes(self) -> str:
        shown = ", ".join(f"{p.pid} {p.name}" for p in self.processes[:PROCESSES_SHOWN])
        more = len(self.processes) - PROCESSES_SHOWN
        return shown + (f" (+{more})" if more > 0 else "")

    def _fate(self) -> str:
        if self.home.kind == "missing":
            return _("none at {path}").format(path=self.home.path)
        if self.data == "archive":
            return _("ARCHIVED to {dest} (root only)").format(dest=self.archive_to)
        if self.data == "purge":
            return _("DELETED for good")
        return _("kept at {path}, owned by the old uid {uid}").format(
            path=self.home.path, uid=self.target.uid
        )


def _describe_home(home: HomeState) -> str:
    if home.kind != "directory" or home.usage is None:
        return _("{path} ({kind})").format(path=home.path, kind=home.kind)
    usage = home.usage
    files = ngettext("{n} file", "{n} files", usage.files).format(n=usage.files)
    dirs = ngettext("{n} directory", "{n} directories", usage.directories).format(
        n=usage.directories
    )
    return _("{path}: {size} allocated, {files}, {dirs}").format(
        path=home.path, size=human_size(usage.allocated_bytes), files=files, dirs=dirs
    )


def _describe_link(link: LinkState) -> str:
    if link.kind == "link":
        return f"{link.path} -> {link.target}"
    if link.kind == "foreign link":
        return _("{path} -> {target} (points elsewhere: left as it is)").format(
            path=link.path, target=link.target
        )
    if link.kind == "missing":
        return _("{path} (none)").format(path=link.path)
    return _("{path} is a real {kind}: left as it is").format(path=link.path, kind=link.kind)


def preview_removal(cfg: SiteConfig, request: RemoveRequest) -> RemovalPreview:
    """Check the request, look at everything, refuse an unsafe data step; changes nothing."""
    target = check_request(cfg, request)
    home = inspect_home(cfg.users_dir / request.name)
    archive_to = None
    if request.data == "archive" and cfg.storage.backup_root is not None:
        archive_to = data.archive_destination(cfg.storage.backup_root, target.name, request.stamp)
    preview = RemovalPreview(
        target=target,
        groups=_groups(cfg, target),
        home=home,
        link=link_state(HOME_ROOT / target.name, home.path),
        sessions=activity.login_sessions(target.name),
        processes=activity.user_processes(target.uid),
        archive_to=archive_to,
        data=request.data,
    )
    check_data_step(preview, request)
    return preview


def _groups(cfg: SiteConfig, target: Target) -> tuple[str, ...]:
    if target.account:
        primary = accounts.group_by_gid(target.gid)
        names = {*accounts.supplementary_groups(target.name)}
        return tuple(sorted(names | ({primary.name} if primary else set())))
    entry = registry_entry(cfg, target.name)
    return tuple(sorted({entry.primary_group, *entry.groups})) if entry else ()


def check_not_busy(preview: RemovalPreview, request: RemoveRequest) -> None:
    """Refuse while the user is logged in or runs processes, unless told to end them."""
    if preview.busy and not request.kill_sessions:
        raise busy_error(request.name, len(preview.sessions), len(preview.processes))


def busy_error(name: str, logins: int, processes: int) -> RefusedError:
    """The refusal for a user still logged in or running processes."""
    sessions = ngettext("{n} session", "{n} sessions", logins).format(n=logins)
    running = ngettext("{n} process", "{n} processes", processes).format(n=processes)
    return RefusedError(
        _(
            "{name} is logged in or running processes ({sessions}, {processes}); "
            "pass --kill-sessions to end them"
        ).format(name=name, sessions=sessions, processes=running)
    )


def check_data_step(preview: RemovalPreview, request: RemoveRequest) -> None:
    """Refuse an archive or purge that would be unsafe or could not fit."""
    if request.data == "keep":
        return
    data.check_movable(preview.home, preview.target.uid)
    if request.data == "archive" and preview.archive_to is not None:
        data.check_space(preview.home, preview.archive_to)
