"""``datakeeper backup restore`` for the admin: any path of a snapshot, copied back.

One ``BackupRestore`` change in a change session (storage guard, lock, one
action-log record; ``--dry-run`` shows the same plan). The source is found in
the snapshot without following a link (``helper.snapshots.locate``; the last
component may be a link, copied as a link). The live tree is written by
members, so the destination folder is opened one component at a time without
following links, rsync (``-aHAX --numeric-ids``: owners, modes, times, ACLs
and links as in the snapshot) copies into a fresh root-only folder inside it,
reached through that descriptor (``/proc/self/fd/N``), and the result is
renamed into place from there: no path a member could swap is ever followed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine.session import change_session
from datakeeper.errors import ConflictError, InvalidInputError
from datakeeper.features.backup import layout
from datakeeper.features.backup.listing import backup_root
from datakeeper.helper.snapshots import empty_stage, locate, move_into_place, pick, restored_name
from datakeeper.helper.walk import DIR_FLAGS, Refused
from datakeeper.i18n import _
from datakeeper.resources.backup_restore import BackupRestore
from datakeeper.system import rsync

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.engine import Outcome

FLAGS = ("-aHAX", "--numeric-ids")


@dataclass(frozen=True)
class RestoreRequest:
    """What the admin asked: a live path, a snapshot (name, date or None: the newest),
    and where to (beside the original by default)."""

    path: Path
    snapshot: str | None = None
    into: Path | None = None
    in_place: bool = False
    overwrite: bool = False


def restore(cfg: SiteConfig, request: RestoreRequest, *, dry_run: bool) -> Outcome:
    """Restore (or plan restoring) ``request``; ``InvalidInputError`` for a path or
    snapshot that does not exist, ``ConflictError`` when the target exists."""
    job = RestoreFromSnapshot(cfg, request)
    with change_session(cfg, dry_run=dry_run) as session:
        return session.converge([BackupRestore(job)])


def pick_snapshot(cfg: SiteConfig, wanted: str | None) -> layout.Snapshot:
    """The complete snapshot ``wanted`` names (a name, a date: the newest at or before
    it, a unique prefix) or the newest; ``InvalidInputError`` when none matches."""
    complete = {s.name: s for s in layout.list_snapshots(backup_root(cfg)) if s.complete}
    try:
        return complete[pick(sorted(complete), wanted)]
    except Refused as refused:
        raise InvalidInputError(str(refused)) from None


def data_relative(cfg: SiteConfig, path: Path) -> list[str]:
    """``path`` as components below the data root, in a backed-up folder.

    A path through a link (``/home/alice/x``) is read through the links that
    exist now; it only chooses what to read from the snapshot.
    """
    root = str(cfg.storage.data_root)
    text = os.path.abspath(path)
    if not _below(text, root):
        text = _resolve_existing(text)
    folders = {cfg.home.users_folder, *cfg.backup.sources}
    parts = text[len(root) :].strip("/").split("/") if _below(text, root) else []
    if not parts or parts[0] not in folders:
        shown = ", ".join(str(cfg.storage.data_root / f) for f in sorted(folders))
        raise InvalidInputError(
            _("{path} is not in a backed-up folder ({folders})").format(path=path, folders=shown)
        )
    return parts


def _below(text: str, root: str) -> bool:
    return text == root or text.startswith(root.rstrip("/") + "/")


def _resolve_existing(text: str) -> str:
    """``text`` with its longest existing prefix resolved through links."""
    head, rest = text, []
    while head != "/" and not os.path.lexists(head):
        head, tail = os.path.split(head)
        rest.insert(0, tail)
    return os.path.join(os.path.realpath(head), *rest)


class RestoreFromSnapshot:
    """The ``RestoreJob`` of one admin restore."""

    def __init__(self, cfg: SiteConfig, request: RestoreRequest) -> None:
        self.cfg, self.request = cfg, request
        self.parts = data_relative(cfg, request.path)
        self.snapshot = pick_snapshot(cfg, request.snapshot)
        if request.into is not None:
            self.folder, self.name = Path(os.path.realpath(request.into)), self.parts[-1]
        else:
            self.folder = cfg.storage.data_root.joinpath(*self.parts[:-1])
            keep = self.parts[-1] if request.in_place else None
            self.name = keep or restored_name(self.parts[-1], self.snapshot.name)
        self.destination = self.folder / self.name
        self.source = ""

    def touches(self) -> tuple[Path, ...]:
        return (layout.snapshots_dir(backup_root(self.cfg)), self.destination)

    def prepare(self) -> tuple[str, dict[str, Any]]:
        """Find the source; refuse a destination that exists (without --overwrite)."""
        try:
            self.source = locate(str(self.snapshot.data), self.parts)[0]
        except Refused as refused:
            raise InvalidInputError(
                _("{path} in snapshot {name}: {why}").format(
                    path="/".join(self.parts), name=self.snapshot.name, why=refused
                )
            ) from None
        exists = os.path.lexists(self.destination)
        if exists and not self.request.overwrite:
            raise ConflictError(
                _("{path} exists; pass --overwrite to replace it").format(path=self.destination)
            )
        verb = _("replace") if exists else _("restore")
        sentence = _("{verb} {path} from snapshot {name}").format(
            verb=verb, path=self.destination, name=self.snapshot.name
        )
        details = {"snapshot": self.snapshot.name, "source": "/".join(self.parts)}
        return sentence, {**details, "destination": str(self.destination), "replaces": exists}

    def take(self) -> str:
        """rsync into a root-only folder inside the destination's, then rename."""
        parent = open_folder(self.folder)
        try:
            stage = f".datakeeper-restore-{secrets.token_hex(4)}"
            os.mkdir(stage, 0o700, dir_fd=parent)
            staged = os.open(stage, DIR_FLAGS, dir_fd=parent)
            try:
                argv = ["rsync", *FLAGS, "--", self.source, f"/proc/self/fd/{staged}/"]
                whole = rsync.copy(argv, pass_fds=(staged,))
                move_into_place(staged, os.path.basename(self.source), parent, self.name)
            finally:
                empty_stage(parent, stage, staged)
        finally:
            os.close(parent)
        done = _("restored {path} from snapshot {name}").format(
            path=self.destination, name=self.snapshot.name
        )
        return done if whole else done + _("; some files vanished while they were copied")


def open_folder(folder: Path) -> int:
    """A descriptor of ``folder``, opened from / one component at a time without
    following a link; ``ConflictError`` when a component is a link or missing."""
    fd, where = os.open("/", DIR_FLAGS), Path("/")
    try:
        for part in folder.parts[1:]:
            where = where / part
            next_fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except OSError as error:
        os.close(fd)
        raise ConflictError(
            _("{path}: not a folder to restore into ({why}); a link or missing?").format(
                path=where, why=error.strerror
            )
        ) from None
    return fd
