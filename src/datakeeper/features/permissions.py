"""Permission repair: ``fix-permissions --shared`` and ``fix-permissions --user NAME``.

Shared folders (the group-writable ``[[folders]]`` not owned by root: caches,
models, dataset, code): every entry gets the site group; directories get
setgid and group read and execute (the sticky bit is kept where it is, and
added on the configured folders whose mode has it); regular files get group
read, group execute when anyone may execute them (like ``chmod g+rX``), and
lose set-user-ID and set-group-ID. Owners are not changed: a file stays its
creator's.

The repair never widens who may write: group write is the owner's decision.
It stays where the owner gave it to the site group, and goes when an entry
moves from another group to the site group (write for bob's private group is
not write for every member). It is added only on the configured folders
themselves (the site config declares them group-writable) and, with
``grant_write`` (``--grant-write``), on entries not owned by root; every entry
that gains it is named in the plan. Root-owned entries never gain it: a
member who can write root's script or root's folder runs code as root.

A user's persistent home (``<users_dir>/NAME``): the home itself becomes
``NAME:<private group>`` with exactly ``home.mode`` (sshd's StrictModes
rejects a group-writable home). Below it, everything becomes NAME's; a group
is kept when NAME belongs to it, otherwise it becomes the private group
(files root or someone else left there); nobody but the owner may write
(``& ~0o022``); directories keep ``u+rwx`` so NAME can manage them; files
lose set-id bits. ``~/.ssh`` and everything in it get the private group and
only owner bits (directories 0700): sshd and ssh refuse keys others can read.
So a home repair only ever removes group write; ``grant_write`` is refused
with it.

Both walk with ``datakeeper.system.safewalk`` (fd-relative, never following
a link): symlinks, hard-linked files, special files and other filesystems
are left alone and counted. Each tree is one ``TreePermissions`` resource that
the executor converges in a change session (storage guard, admin lock, one
action-log record per tree repaired); a dry run plans them and changes nothing.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine import Change, Outcome
from datakeeper.engine.session import ChangeListener, change_session
from datakeeper.errors import DatakeeperError, InvalidInputError, RefusedError
from datakeeper.i18n import _, ngettext
from datakeeper.resources.tree_permissions import TreePermissions
from datakeeper.system import accounts
from datakeeper.system.safewalk import KEEP, Hook, Target, WalkReport, protected_hardlinks

if TYPE_CHECKING:
    from datakeeper.config import FolderSpec, SiteConfig

SET_ID = stat.S_ISUID | stat.S_ISGID
GROUP_WRITE = 0o022  # group and other write: what a home repair removes
GROUP_READ_EXEC = stat.S_IRGRP | stat.S_IXGRP


class SharedRules:
    """Site group, setgid directories, group-readable entries; group write only where
    the owner gave it, the config declares it, or ``grant_write`` adds it to entries
    root does not own (see module doc)."""

    __slots__ = ("declared", "excluded", "gid", "grant_write", "path", "sticky")

    def __init__(
        self,
        gid: int,
        path: str,
        sticky: frozenset[str],
        excluded: frozenset[str],
        *,
        declared: frozenset[str] = frozenset(),
        grant_write: bool = False,
    ) -> None:
        self.gid, self.path, self.sticky, self.excluded = gid, path, sticky, excluded
        self.declared, self.grant_write = declared, grant_write

    def directory(self, info: os.stat_result) -> Target:
        mode = stat.S_IMODE(info.st_mode) | stat.S_ISGID | GROUP_READ_EXEC
        mode |= stat.S_ISVTX if self.path in self.sticky else 0
        return (KEEP, self.gid, self._write(info, mode, declared=self.path in self.declared))

    def file(self, info: os.stat_result) -> Target:
        mode = stat.S_IMODE(info.st_mode)
        wanted = (mode & ~SET_ID) | stat.S_IRGRP | (stat.S_IXGRP if mode & 0o111 else 0)
        return (KEEP, self.gid, self._write(info, wanted, declared=False))

    def child(self, name: str) -> SharedRules | None:
        path = f"{self.path}/{name}"
        if path in self.excluded:
            return None
        return SharedRules(
            self.gid,
            path,
            self.sticky,
            self.excluded,
            declared=self.declared,
            grant_write=self.grant_write,
        )

    def _write(self, info: os.stat_result, mode: int, *, declared: bool) -> int:
        """``mode`` with group write as the owner, the config or the admin decided."""
        if declared or (self.grant_write and info.st_uid != 0):
            return mode | stat.S_IWGRP
        if info.st_gid != self.gid:  # write for another group is not write for the site's
            return mode & ~stat.S_IWGRP
        return mode


class UserRules:
    """A persistent home: NAME's, private, nobody else writes (see module doc)."""

    __slots__ = ("depth", "gid", "groups", "home_mode", "private", "uid")

    def __init__(
        self,
        uid: int,
        gid: int,
        groups: frozenset[int],
        home_mode: int,
        depth: int = 0,
        private: bool = False,
    ) -> None:
        self.uid, self.gid, self.groups, self.home_mode = uid, gid, groups, home_mode
        self.depth, self.private = depth, private

    def directory(self, info: os.stat_result) -> Target:
        if self.depth == 0:
            return (self.uid, self.gid, self.home_mode)
        if self.private:
            return (self.uid, self.gid, stat.S_IRWXU)
        mode = (stat.S_IMODE(info.st_mode) & ~GROUP_WRITE) | stat.S_IRWXU
        return (self.uid, self._group(info), mode)

    def file(self, info: os.stat_result) -> Target:
        if self.private:
            return (self.uid, self.gid, stat.S_IMODE(info.st_mode) & stat.S_IRWXU)
        mode = stat.S_IMODE(info.st_mode) & ~(SET_ID | GROUP_WRITE)
        return (self.uid, self._group(info), mode)

    def child(self, name: str) -> UserRules:
        private = self.private or (self.depth == 0 and name == ".ssh")
        return UserRules(self.uid, self.gid, self.groups, self.home_mode, self.depth + 1, private)

    def _group(self, info: os.stat_result) -> int:
        return info.st_gid if info.st_gid in self.groups else self.gid


@dataclass
class PermissionsReport:
    """The trees walked, each with its counts, the changes planned or applied, the
    trees that failed, and notes for the person running it."""

    dry_run: bool
    trees: list[tuple[str, WalkReport]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    failed: list[tuple[str, DatakeeperError]] = field(default_factory=list)

    @property
    def totals(self) -> Counter:
        """Counts summed over every tree."""
        total: Counter = Counter()
        for _path, report in self.trees:
            total.update(report.counts)
        return total

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped entries are not failures)."""
        return not self.totals["errors"] and not self.failed

    def as_dict(self) -> dict:
        """JSON-able report."""
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "totals": dict(self.totals),
            "trees": [
                {"path": path, "dry_run": self.dry_run, **report.as_dict()}
                for path, report in self.trees
            ],
            "changes": [change.as_dict() for change in self.changes],
            "failed": [{"resource": r, "error": str(e)} for r, e in self.failed],
            "notes": self.notes,
        }


def shared_trees(cfg: SiteConfig, *, grant_write: bool = False) -> list[tuple[Path, SharedRules]]:
    """The tops of the shared folders (a shared folder inside another is walked with it);
    ``grant_write``: add group write to entries root does not own."""
    group = accounts.group_by_name(cfg.group)
    if group is None:
        raise RefusedError(
            _("group {group} does not exist; run datakeeper init first").format(group=cfg.group)
        )
    shared = [f for f in cfg.folders if _is_shared(f)]
    shared_paths = frozenset(f.path for f in shared)
    sticky = frozenset(f.path for f in shared if f.mode & stat.S_ISVTX)
    excluded = frozenset(f.path for f in cfg.folders if not _is_shared(f))
    tops = [f for f in shared if not any(p in shared_paths for p in _parents(f.path))]
    root = cfg.storage.data_root
    return [
        (
            root / f.path,
            SharedRules(
                group.gid, f.path, sticky, excluded, declared=shared_paths, grant_write=grant_write
            ),
        )
        for f in tops
    ]


def user_tree(cfg: SiteConfig, name: str) -> tuple[Path, UserRules]:
    """NAME's persistent home and the rules for it; ``InvalidInputError`` if there is none."""
    user = accounts.user_by_name(name)
    if user is None:
        raise InvalidInputError(_("account {name} does not exist").format(name=name))
    home = cfg.users_dir / name
    if not home.is_dir() or home.is_symlink():
        raise InvalidInputError(
            _("{name} has no persistent home {path}").format(name=name, path=home)
        )
    groups = frozenset(os.getgrouplist(name, user.gid))
    return home, UserRules(user.uid, user.gid, groups, cfg.home.mode)


def fix_permissions(
    cfg: SiteConfig,
    *,
    user: str | None = None,
    grant_write: bool = False,
    dry_run: bool,
    on_change: ChangeListener | None = None,
    hook: Hook | None = None,
) -> PermissionsReport:
    """``--user NAME`` (``user``) or ``--shared`` (``user`` None): plan, repair, report.

    ``grant_write`` (``--shared`` only) adds group write to entries root does not own;
    each entry that gains it is named in the report. The trees are converged in one
    change session: the storage guard first (a dry run too), then, in a real run, the
    admin lock and one action-log record per tree repaired. A tree that fails does not
    stop the others. ``on_change`` hears each change as it is planned (dry run),
    applied or failed.
    """
    if user is not None and grant_write:
        raise InvalidInputError(
            _("--grant-write applies to --shared only: nobody but its owner writes in a home")
        )
    trees = (
        [user_tree(cfg, user)] if user is not None else shared_trees(cfg, grant_write=grant_write)
    )
    resources = [TreePermissions(path, rules, hook) for path, rules in trees]
    with change_session(cfg, dry_run=dry_run) as session:
        outcome = session.converge(resources, on_change=on_change, keep_going=True)
    return _report(resources, outcome)


def _report(resources: list[TreePermissions], outcome: Outcome) -> PermissionsReport:
    report = PermissionsReport(outcome.dry_run, failed=list(outcome.failed))
    report.changes = outcome.planned if outcome.dry_run else outcome.applied
    failed = {resource_id for resource_id, _error in outcome.failed}
    for resource in resources:
        if resource.missing:
            report.notes.append(_("{path} does not exist: skipped").format(path=resource.top))
        elif resource.id not in failed or resource.report.counts:  # not refused unwalked
            report.trees.append((str(resource.top), resource.report))
    if report.totals["hard_links"]:
        report.notes.append(_hard_link_note(protected_hardlinks()))
    return report


def summary_line(counts: Counter) -> str:
    """One sentence with the counts that matter."""
    dirs = ngettext("{n} directory", "{n} directories", counts["directories"])
    files = ngettext("{n} file", "{n} files", counts["files"])
    changed = ngettext(
        "{changed} entry changed (owner {owner}, group {group}, mode {mode}) of {dirs} and {files}",
        "{changed} entries changed (owner {owner}, group {group}, mode {mode}) of {dirs} and "
        "{files}",
        counts["changed"],
    )
    return changed.format(
        changed=counts["changed"],
        owner=counts["owner_changed"],
        group=counts["group_changed"],
        mode=counts["mode_changed"],
        dirs=dirs.format(n=counts["directories"]),
        files=files.format(n=counts["files"]),
    )


def _hard_link_note(protected: bool | None) -> str:
    if protected:
        return _(
            "files with several hard links were left alone; fs.protected_hardlinks is 1, so "
            "members cannot link other users' files, but such a file is skipped anyway "
            "(it may have been linked by root or before); fix those by hand"
        )
    return _(
        "files with several hard links were left alone: one may be another user's file "
        "linked into the tree (fs.protected_hardlinks is off); fix those by hand"
    )


def _is_shared(folder: FolderSpec) -> bool:
    return bool(folder.mode & stat.S_IWGRP) and folder.owner != "root"


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
