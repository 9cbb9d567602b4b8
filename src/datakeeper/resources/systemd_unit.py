"""systemd units in the wanted state, and systemd having read their files.

Written once for every unit datakeeper installs: the boot recovery service and
its password watch, the disk alert timer. Every ``systemctl`` call goes through
``datakeeper.system.systemd``.
"""

from __future__ import annotations

from dataclasses import dataclass

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.system import systemd
from datakeeper.system.systemd import UnitState


@dataclass(frozen=True)
class SystemdUnits(Resource):
    """``units`` enabled at boot and the ``running`` ones started now, after a
    daemon-reload when a file changed (``static`` units, started by others, count for
    that reload only); or, with ``enabled=False``, all of them disabled and stopped.
    ``online=False`` (systemd not running: an image prepared offline) only enables or
    disables them, which makes or removes links: nothing is started, stopped or reloaded."""

    label: str
    units: tuple[str, ...]
    running: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    enabled: bool = True
    online: bool = True

    @property
    def id(self) -> str:
        return self.label

    def plan(self) -> list[Change]:
        states = {unit: systemd.unit_state(unit) for unit in (*self.units, *self.static)}
        if self.enabled and not self._is_on(states):
            on = self._on_sentence()
            return [Change(self.id, on, self._turn_on, _diff(states), operation="enable")]
        if not self.enabled and any(states[u].partly_on for u in self.units):
            off = self._off_sentence()
            return [Change(self.id, off, self._turn_off, _diff(states), operation="disable")]
        return []

    def _is_on(self, states: dict[str, UnitState]) -> bool:
        enabled = all(states[u].is_enabled for u in self.units)
        if not self.online:
            return enabled
        running = all(states[u].active == "active" for u in self.running)
        return enabled and running and not any(s.stale for s in states.values())

    def _on_sentence(self) -> str:
        units, running = _names(self.units), _names(self.running)
        if not self.online:
            return _("enable {units} (systemd is not running: they start at the next boot)"
                     ).format(units=units)  # fmt: skip
        if set(self.running) == set(self.units):
            return _("reload systemd, enable and start {units}").format(units=units)
        if not self.running:
            return _("reload systemd, enable {units}").format(units=units)
        return _("reload systemd, enable {units}, start {running}").format(
            units=units, running=running
        )

    def _off_sentence(self) -> str:
        if not self.online:
            return _("disable {units}").format(units=_names(self.units))
        if set(self.running) == set(self.units):
            return _("stop and disable {units}").format(units=_names(self.units))
        return _("disable {units}, stop them").format(units=_names(self.units))

    def _turn_on(self) -> None:
        if not self.online:
            systemd.enable(*self.units)  # links only: works without a running systemd
            return
        systemd.daemon_reload()
        if set(self.running) == set(self.units):
            systemd.enable(*self.units, now=True)
            return
        systemd.enable(*self.units)
        if self.running:
            systemd.start(*self.running)

    def _turn_off(self) -> None:
        if not self.online:
            systemd.disable(*self.units)
            return
        if self.running:
            systemd.disable(*self.running, now=True)
        at_boot = [u for u in self.units if u not in self.running]
        if at_boot:
            systemd.disable(*at_boot)
            # A unit that runs at boot may be running now, and its ExecStop may wait
            # for this run's lock (recovery's password sync): do not wait for it.
            systemd.stop(*at_boot, wait=False)


@dataclass(frozen=True)
class DaemonReload(Resource):
    """systemd has read the files of ``units`` again (after some were removed or changed)."""

    units: tuple[str, ...]

    @property
    def id(self) -> str:
        return "systemd manager"

    def plan(self) -> list[Change]:
        stale = [unit for unit in self.units if systemd.unit_state(unit).stale]
        if not stale:
            return []
        summary = _("reload systemd ({units} changed on disk)").format(units=", ".join(stale))
        return [Change(self.id, summary, systemd.daemon_reload, operation="reload")]


def _names(units: tuple[str, ...]) -> str:
    if len(units) < 2:
        return "".join(units)
    return _("{first} and {last}").format(first=", ".join(units[:-1]), last=units[-1])


def _diff(states: dict[str, UnitState]) -> dict:
    """The units' state before the change, for ``--json`` diffs."""
    return {unit: state.as_dict() for unit, state in states.items()}
