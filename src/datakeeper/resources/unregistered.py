"""An account's entry is absent from the registry: recovery no longer recreates it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.registry import open_registry, read_document


@dataclass(frozen=True)
class Unregistered(Resource):
    """The registry at ``registry`` has no entry for ``name``.

    ``account_removed``: the account goes as well (``user remove``), so its uid
    is remembered as retired, since files on storage may still carry it; the
    admin is told recovery will not recreate it. Otherwise (``user
    unregister``) the account stays and the entry is simply dropped.
    """

    name: str
    registry: Path
    account_removed: bool = False

    @property
    def id(self) -> str:
        return f"registry {self.name}"

    def touches(self) -> tuple[Path, ...]:
        return (self.registry,)

    def plan(self) -> list[Change]:
        if not self.registry.exists() or self.name not in read_document(self.registry).users:
            return []
        if self.account_removed:
            summary = _("forget {name} in the registry (recovery will not recreate it)")
        else:
            summary = _("forget {name} in the registry (the account stays)")
        return [Change(self.id, summary.format(name=self.name), self._forget, operation="remove")]

    def _forget(self) -> None:
        with open_registry(self.registry) as registry:
            if self.account_removed:
                registry.retire(self.name)
            else:
                registry.remove(self.name)
