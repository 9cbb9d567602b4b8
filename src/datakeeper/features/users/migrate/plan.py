"""Before a migration: who, from which layout to which, what moves, and every refusal.

``prepare`` reads only. For a new migration it describes the home as it is
(the journal's ``HomeBefore`` and ``FolderBefore``) and lists the entries
that move; for an interrupted one it takes all of that from the journal, so
a resumed run does exactly what the first run set out to do.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import ConflictError, InvalidInputError, RefusedError
from datakeeper.features.users import layouts
from datakeeper.features.users.migrate.journal import (
    FAILED,
    ROLLING_BACK,
    RUNNING,
    FolderBefore,
    HomeBefore,
    Journal,
    journal_path,
    load_journal,
)
from datakeeper.features.users.migrate.manifest import DOTFILES, files_below
from datakeeper.features.users.names import check_username_syntax
from datakeeper.i18n import _, ngettext
from datakeeper.paths import HOME_ROOT
from datakeeper.registry import read_document
from datakeeper.system import accounts, activity, logindefs

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

LAYOUTS = ("link", "hybrid")


@dataclass(frozen=True)
class MigrateRequest:
    """``user migrate NAME --to LAYOUT`` (``force``: even while the user runs processes)."""

    name: str
    target: str
    force: bool = False


@dataclass
class MigrationPlan:
    """What a migration will do: its journal (new or resumed) and every path that moves."""

    journal: Journal
    resumed: bool
    moved: list[tuple[str, str]] = field(default_factory=list)  # every entry: (from, to)
    left_on_ssd: list[str] = field(default_factory=list)  # SSD-only entries set aside

    def lines(self) -> list[str]:
        """The plan in sentences, each moving file on a line of its own."""
        j = self.journal
        head = _("{name}: home layout {src} -> {dst}").format(
            name=j.user, src=j.source, dst=j.target
        )
        found = [head + (_(" (resuming an interrupted migration)") if self.resumed else "")]
        found += [_("  move {src} -> {dst}").format(src=a, dst=b) for a, b in self.moved]
        if self.left_on_ssd:
            found.append(
                ngettext(
                    "  {n} entry only on the SSD stays on the SSD at {aside} "
                    "(gone at reboot, as now):",
                    "  {n} entries only on the SSD stay on the SSD at {aside} "
                    "(gone at reboot, as now):",
                    len(self.left_on_ssd),
                ).format(n=len(self.left_on_ssd), aside=j.home.aside)
            )
            found += [f"    {entry}" for entry in self.left_on_ssd]
        return found

    def as_dict(self) -> dict:
        return {
            "user": self.journal.user,
            "from": self.journal.source,
            "to": self.journal.target,
            "resumed": self.resumed,
            "moves": [{"from": a, "to": b} for a, b in self.moved],
            "left_on_ssd": self.left_on_ssd,
        }


def prepare(cfg: SiteConfig, request: MigrateRequest) -> MigrationPlan | None:
    """The plan of ``request``; None when the home is already in the wanted layout.

    Raises ``InvalidInputError`` for a bad name or layout, ``RefusedError`` for a
    user who is not a managed researcher, is busy (without ``force``), has a
    broken home, or has an interrupted migration to the other layout.
    """
    if request.target not in LAYOUTS:
        raise InvalidInputError(_("--to: choose link or hybrid"))
    user = check_user(cfg, request.name)
    journal = load_journal(cfg, request.name)
    if journal is not None and journal.state == ROLLING_BACK:
        raise RefusedError(
            _("{name}'s rollback was interrupted; finish it with --rollback first").format(
                name=request.name
            )
        )
    if journal is not None and journal.state in (RUNNING, FAILED):
        return _resume(cfg, request, journal)
    current = layouts.layout_of(cfg, request.name)
    if current is None:
        raise RefusedError(
            _(
                "{name}'s home is in neither layout (missing or broken); run "
                "'datakeeper recover' or 'datakeeper check' first"
            ).format(name=request.name)
        )
    if current == request.target:
        return None
    problem = layouts.ssh_chain_problem(cfg) if request.target == "hybrid" else None
    if problem is not None:  # the user could no longer log in with their keys
        raise RefusedError(problem)
    check_idle(request, user.uid)
    return _new_plan(cfg, request.name, user.uid, current, request.target)


def check_user(cfg: SiteConfig, name: str) -> accounts.UserInfo:
    """A registered researcher's account (not root, not a system account)."""
    check_username_syntax(name)
    user = accounts.user_by_name(name)
    if user is None:
        raise InvalidInputError(_("user {name}: no such account; check the name").format(name=name))
    if user.uid == 0 or user.uid < logindefs.uid_min():
        raise RefusedError(
            _("{name} is a system account; only researchers' homes migrate").format(name=name)
        )
    if not cfg.registry_path.exists() or name not in read_document(cfg.registry_path).users:
        raise RefusedError(
            _(
                "{name} is not in the registry; register it first (datakeeper user register {name})"
            ).format(name=name)
        )
    return user


def check_idle(request: MigrateRequest, uid: int) -> None:
    """Refuse while the user is logged in or runs processes, unless ``force``."""
    if request.force:
        return
    logins = activity.login_sessions(request.name)
    running = activity.user_processes(uid)
    if logins or running:
        sessions = ngettext("{n} session", "{n} sessions", len(logins)).format(n=len(logins))
        processes = ngettext("{n} process", "{n} processes", len(running)).format(n=len(running))
        raise RefusedError(
            _(
                "{name} is logged in or running processes ({sessions}, {processes}); "
                "files in use could change while they move: ask them to log out, or pass --force"
            ).format(name=request.name, sessions=sessions, processes=processes)
        )


def _resume(cfg: SiteConfig, request: MigrateRequest, journal: Journal) -> MigrationPlan:
    if journal.target != request.target:
        raise RefusedError(
            _(
                "{name} has an interrupted migration to {layout}: run it again with --to "
                "{layout}, or undo it with --rollback"
            ).format(name=request.name, layout=journal.target)
        )
    check_idle(request, journal.uid)
    return _described(cfg, journal, resumed=True)


def _new_plan(cfg: SiteConfig, name: str, uid: int, source: str, target: str) -> MigrationPlan:
    persistent = cfg.users_dir / name
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dotfiles = cfg.home.dotfiles
    if target == "hybrid":
        home = HomeBefore("symlink", target=os.readlink(HOME_ROOT / name))
        folder = _folder_before(persistent, dotfiles, to_link=False)
        moves = [(persistent / d, persistent / DOTFILES / d) for d in dotfiles]
    else:
        home = HomeBefore("directory", aside=str(HOME_ROOT / f".{name}.datakeeper-hybrid-{stamp}"))
        folder = _folder_before(persistent, dotfiles, to_link=True)
        moves = [(persistent / DOTFILES / d, persistent / d) for d in dotfiles]
    present = [(str(a), str(b)) for a, b in moves if os.path.lexists(a)]
    _check_free(present)
    journal = Journal(
        journal_path(cfg, name), name, uid, source, target, stamp, home, folder, present
    )
    journal.dotfiles = list(dotfiles)
    if target == "hybrid":
        journal.created = _made_by_layout(cfg, persistent, present)
    return _described(cfg, journal, resumed=False)


def _made_by_layout(cfg: SiteConfig, persistent: Path, moves: list[tuple[str, str]]) -> list[str]:
    """The folders the hybrid layout will make because they are not there (nor moved in)."""
    wanted = [persistent / folder for folder in layouts.kept_folders(cfg)]
    if layouts.SSH_FOLDER in cfg.home.dotfiles:
        wanted.append(persistent / DOTFILES / layouts.SSH_FOLDER)
    arriving = {b for _a, b in moves}
    return [str(p) for p in wanted if not os.path.lexists(p) and str(p) not in arriving]


def _folder_before(persistent: Path, dotfiles: tuple[str, ...], *, to_link: bool) -> FolderBefore:
    """The ``dotfiles`` folder as it is; refused where the move would mix two files."""
    folder = persistent / DOTFILES
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return FolderBefore(existed=False)
    if not stat.S_ISDIR(info.st_mode):
        raise ConflictError(
            _("{path} is not a folder; move it away and run again").format(path=folder)
        )
    inside = set(os.listdir(folder))
    if not to_link and inside & set(dotfiles):
        raise ConflictError(
            _("{path} already holds {names}; move them away and run again").format(
                path=folder, names=", ".join(sorted(inside & set(dotfiles)))
            )
        )
    mode = stat.S_IMODE(info.st_mode)
    remove = to_link and inside <= set(dotfiles)
    return FolderBefore(True, info.st_uid, info.st_gid, mode, remove)


def _check_free(moves: list[tuple[str, str]]) -> None:
    taken = [b for _a, b in moves if os.path.lexists(b)]
    if taken:
        raise ConflictError(
            _("{paths} already exist; move them away and run again").format(paths=", ".join(taken))
        )


def _described(cfg: SiteConfig, journal: Journal, *, resumed: bool) -> MigrationPlan:
    """The plan's full list: each moving entry and every file below it."""
    plan = MigrationPlan(journal, resumed)
    for source, destination in journal.moves:
        where = Path(source) if os.path.lexists(source) else Path(destination)
        plan.moved.append((source, destination))
        plan.moved += [(f"{source}/{rel}", f"{destination}/{rel}") for rel in files_below(where)]
    if journal.target == "link" and not resumed:
        plan.left_on_ssd = _ssd_only(HOME_ROOT / journal.user, cfg.users_dir / journal.user)
    return plan


def _ssd_only(home: Path, persistent: Path) -> list[str]:
    """Entries of the SSD home that are not the layout's links into the persistent home."""
    found = []
    for name in sorted(os.listdir(home)):
        path = home / name
        if os.path.islink(path) and _inside(os.readlink(path), persistent):
            continue
        found.append(str(path))
    return found


def _inside(target: str, persistent: Path) -> bool:
    return target == str(persistent) or target.startswith(f"{persistent}/")
