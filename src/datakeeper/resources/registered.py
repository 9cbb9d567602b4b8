"""An account's entry in the registry, so recovery can recreate it identically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.registry import RegistryEntry, open_registry, read_document, read_registry
from datakeeper.system import accounts


@dataclass(frozen=True)
class Registered(Resource):
    """The registry at ``registry`` holds ``describe()`` for account ``name``.

    ``describe`` is called at plan time, so the entry reflects the account as
    the resources before this one left it (e.g. after a group was added).
    """

    name: str
    registry: Path
    describe: Callable[[], RegistryEntry]

    @property
    def id(self) -> str:
        return f"registry {self.name}"

    def touches(self) -> tuple[Path, ...]:
        return (self.registry,)

    def plan(self) -> list[Change]:
        if state.user_by_name(self.name) is None or state.is_planned_user(self.name):
            # planned before the account exists: describe() reads the live account
            summary = _("record {name} in the registry once the account exists").format(
                name=self.name
            )
            undo = self._undo_new() if self._current() is None else None
            return [Change(self.id, summary, lambda: self._save(self.describe()), undo=undo)]
        wanted = self.describe()
        current = self._current()
        if current is not None and current.same_account(wanted):
            return []
        verb = _("record") if current is None else _("update the record of")
        summary = _("{verb} {name} in the registry (uid {uid}, gid {gid})").format(
            verb=verb, name=self.name, uid=wanted.uid, gid=wanted.gid
        )
        before = current.masked() if current else None
        undo = self._undo_new() if current is None else None
        action = lambda: self._save(wanted)  # noqa: E731
        return [Change(self.id, summary, action, before, wanted.masked(), undo=undo)]

    def _current(self) -> RegistryEntry | None:
        if not self.registry.exists():
            return None
        found = [e for e in read_registry(self.registry) if e.name == self.name]
        return found[0] if found else None

    def _save(self, entry: RegistryEntry) -> None:
        with open_registry(self.registry) as registry:
            registry.upsert(entry)

    def _undo_new(self) -> Callable[[], None]:
        """Undo a new record (a failed ``user add``): forget the name again, and keep it
        retired with its uid when it was retired before, so the uid stays reserved."""
        was_retired = self.registry.exists() and self.name in read_document(self.registry).retired

        def undo() -> None:
            with open_registry(self.registry) as registry:
                if was_retired and self.name not in registry.retired():
                    registry.retire(self.name)
                else:
                    registry.remove(self.name)

        return undo


@dataclass(frozen=True)
class RegisteredGroup(Resource):
    """The registry records shared group ``name`` with its live gid."""

    name: str
    registry: Path

    @property
    def id(self) -> str:
        return f"registry group {self.name}"

    def touches(self) -> tuple[Path, ...]:
        return (self.registry,)

    def plan(self) -> list[Change]:
        live = state.group_by_name(self.name)
        gid = live.gid if live is not None and not state.is_planned_id(live.gid) else None
        recorded = recorded_group_gid(self.registry, self.name)
        if gid is not None and recorded == gid:
            return []
        summary = _("record group {name} (gid {gid}) in the registry").format(
            name=self.name, gid=gid if gid is not None else _("once created")
        )
        return [Change(self.id, summary, self._save, {"gid": recorded}, {"gid": gid})]

    def _save(self) -> None:
        live = accounts.group_by_name(self.name)
        if live is None:
            raise ConflictError(_("group {name} does not exist").format(name=self.name))
        with open_registry(self.registry) as registry:
            registry.set_group(self.name, live.gid)


def recorded_group_gid(registry: Path, name: str) -> int | None:
    """The gid the registry records for shared group ``name`` (None if none or no file)."""
    if not registry.exists():
        return None
    return read_document(registry).groups.get(name)
