"""The steps of a migration and of its rollback, each one rename, link or folder, journaled.

Every step is one atomic filesystem call (a rename within the persistent
home, the login link removed or made, the SSD home renamed aside and back, a
folder made or removed), so a run killed between two steps leaves each entry
either where it was or where it goes, never half copied. Renames inside the
persistent home, which its user can write, go through descriptors opened
without following links: a folder swapped for a link to ``/etc`` is refused,
never written through.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from datakeeper.engine.effects import AbsentAt, DirectoryAt, SymlinkAt
from datakeeper.errors import ConflictError
from datakeeper.features.users.migrate.journal import Journal
from datakeeper.features.users.migrate.manifest import DOTFILES
from datakeeper.i18n import _
from datakeeper.paths import HOME_ROOT
from datakeeper.resources.journaled_step import JournaledStep
from datakeeper.system import accounts, safe_delete
from datakeeper.system.fs import fsync_directory


def forward_steps(
    journal: Journal, persistent: Path, link_names: tuple[str, ...] = ()
) -> list[JournaledStep]:
    """The moves that take the home from ``journal.source`` to ``journal.target``; the
    layout's own links and folders come after them (``layouts.home_resources``).

    ``link_names``: the links the hybrid home will hold, so that a dry run plans them
    in an empty new home rather than through the old link."""
    home = HOME_ROOT / journal.user
    folder = persistent / DOTFILES
    steps: list[JournaledStep] = []
    if journal.target == "hybrid":
        if not journal.folder.existed:
            steps.append(_make_folder(journal, folder, "dotfiles-folder"))
        steps += [_move(journal, Path(a), Path(b), "move") for a, b in journal.moves]
        unlink = _unlink_home(journal, home, journal.home.target or "", "home-link")
        emptied = tuple(AbsentAt(home / name) for name in link_names)
        steps.append(replace(unlink, effects=unlink.effects + emptied))
    else:
        steps.append(_rename_home(journal, home, Path(journal.home.aside or ""), "home-aside"))
        steps += [_move(journal, Path(a), Path(b), "move") for a, b in journal.moves]
        if journal.folder.remove:
            steps.append(_remove_folder(journal, folder, "dotfiles-folder"))
    return steps


def rollback_steps(journal: Journal, persistent: Path) -> list[JournaledStep]:
    """The steps that bring back the home the journal recorded, newest undone first.

    Each is planned only when the system shows it is needed, so a rollback of a
    migration killed halfway undoes exactly the part that ran.
    """
    home = HOME_ROOT / journal.user
    folder = persistent / DOTFILES
    moves_back = [_move(journal, Path(b), Path(a), "undo-move") for a, b in reversed(journal.moves)]
    if journal.source == "link":
        aside = HOME_ROOT / f".{journal.user}.datakeeper-rollback-{journal.stamp}"
        steps = [_set_aside_directory(journal, home, aside), _relink_home(journal, home)]
        steps += [_remove_if_empty(journal, Path(path)) for path in reversed(journal.created)]
        steps += moves_back
        if not journal.folder.existed:
            steps.append(_remove_folder(journal, folder, "undo-dotfiles-folder"))
        return steps
    steps = [_unlink_home(journal, home, str(persistent), "undo-home-link")]
    if journal.folder.existed:
        steps.append(_make_folder(journal, folder, "undo-dotfiles-folder"))
    steps += moves_back
    steps.append(_rename_home(journal, Path(journal.home.aside or ""), home, "undo-home-aside"))
    return steps


def _move(journal: Journal, source: Path, destination: Path, prefix: str) -> JournaledStep:
    def done() -> bool:
        there, here = _lexists(destination), _lexists(source)
        if there and here:
            raise ConflictError(
                _("both {a} and {b} exist; move one away and run again").format(
                    a=source, b=destination
                )
            )
        return there

    return JournaledStep(
        key=f"{prefix} {source.name}",
        summary=_("move {src} to {dst}").format(src=source, dst=destination),
        journal=journal,
        done=done,
        run=lambda: rename_nofollow(source, destination),
        paths=(source, destination),
        effects=(AbsentAt(source),),
        operation="move",
    )


def _make_folder(journal: Journal, folder: Path, key: str) -> JournaledStep:
    owner = journal.folder

    def run() -> None:
        parent = safe_delete.open_dir(folder.parent)
        try:
            os.mkdir(folder.name, 0o700, dir_fd=parent)
            fd = os.open(folder.name, safe_delete.DIR_FLAGS, dir_fd=parent)
            try:
                uid, gid = (owner.uid, owner.gid) if owner.existed else _ids(journal.user)
                os.fchown(fd, uid, gid)
                os.fchmod(fd, owner.mode if owner.existed else 0o700)
            finally:
                os.close(fd)
            os.fsync(parent)
        finally:
            os.close(parent)

    name, group = journal.user, _group_name(journal.user)
    return JournaledStep(
        key=key,
        summary=_("create the folder {path}").format(path=folder),
        journal=journal,
        done=lambda: _is_dir(folder),
        run=run,
        paths=(folder,),
        effects=(DirectoryAt(folder, name, group, owner.mode if owner.existed else 0o700),),
        operation="create_folder",
    )


def _remove_folder(journal: Journal, folder: Path, key: str) -> JournaledStep:
    def run() -> None:
        parent = safe_delete.open_dir(folder.parent)
        try:
            os.rmdir(folder.name, dir_fd=parent)  # only an empty folder: nothing is deleted
            os.fsync(parent)
        finally:
            os.close(parent)

    return JournaledStep(
        key=key,
        summary=_("remove the empty folder {path}").format(path=folder),
        journal=journal,
        done=lambda: not _lexists(folder),
        run=run,
        paths=(folder,),
        effects=(AbsentAt(folder),),
        operation="remove_folder",
    )


def _remove_if_empty(journal: Journal, folder: Path) -> JournaledStep:
    """A folder the new layout made: removed while empty; one with content is kept."""

    def done() -> bool:
        return not _is_dir(folder) or bool(os.listdir(folder))

    step = _remove_folder(journal, folder, f"undo-created {folder.name}")
    return JournaledStep(step.key, step.summary, journal, done, step.run, step.paths, step.effects)


def _unlink_home(journal: Journal, home: Path, target: str, key: str) -> JournaledStep:
    def run() -> None:
        if os.readlink(home) != target:
            raise ConflictError(
                _("{path} no longer links to {target}; look at it and run again").format(
                    path=home, target=target
                )
            )
        os.unlink(home)
        fsync_directory(home.parent)

    return JournaledStep(
        key=key,
        summary=_("remove the link {path} -> {target}").format(path=home, target=target),
        journal=journal,
        done=lambda: not _is_link(home),
        run=run,
        paths=(home,),
        effects=(AbsentAt(home),),
        operation="unlink_home",
    )


def _relink_home(journal: Journal, home: Path) -> JournaledStep:
    target = journal.home.target or ""

    def run() -> None:
        os.symlink(target, home)
        fsync_directory(home.parent)

    return JournaledStep(
        key="undo-home-link",
        summary=_("link {path} -> {target}").format(path=home, target=target),
        journal=journal,
        done=lambda: _is_link(home) and os.readlink(home) == target,
        run=run,
        paths=(home,),
        effects=(SymlinkAt(home, target),),
        operation="link_home",
    )


def _rename_home(journal: Journal, source: Path, destination: Path, key: str) -> JournaledStep:
    def run() -> None:
        os.rename(source, destination)
        fsync_directory(destination.parent)

    return JournaledStep(
        key=key,
        summary=_("rename the SSD home {src} to {dst}").format(src=source, dst=destination),
        journal=journal,
        done=lambda: _is_dir(destination) and not _lexists(source),
        run=run,
        paths=(source, destination),
        effects=(AbsentAt(source),),
        operation="rename_home",
    )


def _set_aside_directory(journal: Journal, home: Path, aside: Path) -> JournaledStep:
    """The SSD home the migration made goes aside (kept, never deleted) for the link."""

    def run() -> None:
        os.rename(home, aside)
        fsync_directory(home.parent)

    return JournaledStep(
        key="undo-home-directory",
        summary=_("rename the SSD home {src} to {dst}").format(src=home, dst=aside),
        journal=journal,
        done=lambda: not _is_dir(home),
        run=run,
        paths=(home, aside),
        effects=(AbsentAt(home),),
        operation="rename_home",
    )


def rename_nofollow(source: Path, destination: Path) -> None:
    """Rename ``source`` to ``destination`` through descriptors of their folders, each
    opened without following a link; an existing destination is refused."""
    src_dir = safe_delete.open_dir(source.parent)
    try:
        dst_dir = safe_delete.open_dir(destination.parent)
        try:
            if safe_delete.lstat_at(destination.name, dst_dir) is not None:
                raise ConflictError(
                    _("{path} exists; move it away and run again").format(path=destination)
                )
            os.rename(source.name, destination.name, src_dir_fd=src_dir, dst_dir_fd=dst_dir)
            os.fsync(dst_dir)
            os.fsync(src_dir)
        finally:
            os.close(dst_dir)
    finally:
        os.close(src_dir)


def _ids(name: str) -> tuple[int, int]:
    user = accounts.user_by_name(name)
    if user is None:
        raise ConflictError(_("account {name} does not exist").format(name=name))
    return user.uid, user.gid


def _group_name(name: str) -> str:
    user = accounts.user_by_name(name)
    group = accounts.group_by_gid(user.gid) if user else None
    return group.name if group else name


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
