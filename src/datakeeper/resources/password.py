"""A temporary password that must be changed at the first login."""

from __future__ import annotations

from dataclasses import dataclass, field

from datakeeper.engine import state
from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.system import commands

LOCKED_PREFIXES = ("!", "*")


@dataclass(frozen=True)
class TemporaryPassword(Resource):
    """Account ``name`` gets ``password`` (expired at once) if it has no usable password yet.

    An account that already has a password keeps it, so re-running is a no-op.
    The password is passed on stdin and never appears in a plan or a log.
    """

    name: str
    password: str = field(repr=False)

    @property
    def id(self) -> str:
        return f"password {self.name}"

    def plan(self) -> list[Change]:
        current = state.password_hash(self.name) if state.user_by_name(self.name) else None
        if current and not current.startswith(LOCKED_PREFIXES):
            return []
        summary = _("set a temporary password for {name}, to be changed at first login").format(
            name=self.name
        )
        return [Change(self.id, summary, self._set, operation="set")]

    def _set(self) -> None:
        commands.run(["chpasswd"], input=f"{self.name}:{self.password}\n", secrets=[self.password])
        commands.run(["passwd", "--expire", "--", self.name])
