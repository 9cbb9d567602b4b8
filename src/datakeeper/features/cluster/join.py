"""``datakeeper node join``: a fresh server that mounts an existing ``/data`` becomes a node.

In order: refuse when root's writes are squashed or there is no registry yet
(the first server runs ``init``); record this node; install the boot path
(``recovery enable``: the recovery service, password sync, login wait) and the
node sync (path unit + timer, and the shared flag that makes every ``recover``
bring them back); then ``recover``: every registered account with its ids, the
environment. Running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.engine import Outcome
from datakeeper.engine.session import converge
from datakeeper.errors import RefusedError
from datakeeper.features.cluster import state as node_state
from datakeeper.features.cluster.units import flag_resource, sync_resources
from datakeeper.features.recovery import boot
from datakeeper.features.recovery.recover import RecoveryReport, recover
from datakeeper.features.setup.init import SetupReporter
from datakeeper.i18n import _
from datakeeper.system.nfs import probe_root_write

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass
class JoinResult:
    """The boot path and sync units installed, and the recovery that followed."""

    hostname: str
    units: list[Outcome] = field(default_factory=list)
    recovery: RecoveryReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.recovery is None or self.recovery.ok

    def as_dict(self) -> dict[str, Any]:
        planned = [change.as_dict() for outcome in self.units for change in outcome.planned]
        return {
            "hostname": self.hostname,
            "ok": self.ok,
            "units": planned,
            "recovery": self.recovery.as_dict() if self.recovery else None,
            "notes": self.notes,
        }


def join_node(
    cfg: SiteConfig, config_path: Path, *, dry_run: bool, reporter: SetupReporter, on_change=None
) -> JoinResult:
    """Make this server a node of the site whose storage it mounts (see the module)."""
    host = node_state.this_host()
    _check_can_join(cfg, dry_run)
    if not dry_run:
        node_state.beat(cfg, host)  # the node shows in 'node list' from now on
    result = JoinResult(host)
    enabled = boot.enable(cfg, config_path, dry_run=dry_run, on_change=on_change)
    result.units.append(enabled.outcome)
    result.notes += enabled.notes
    sync = [flag_resource(cfg), *sync_resources(cfg, config_path)]
    result.units.append(converge(cfg, sync, dry_run=dry_run, on_change=on_change))
    result.recovery = recover(cfg, config_path, dry_run=dry_run, reporter=reporter)
    return result


def _check_can_join(cfg: SiteConfig, dry_run: bool) -> None:
    if not cfg.registry_path.exists():
        raise RefusedError(
            _(
                "no registry at {path}: this storage has no site yet; run 'datakeeper init' "
                "on the first server, then 'datakeeper node join' on the others"
            ).format(path=cfg.registry_path)
        )
    if not dry_run:
        probe_root_write(cfg.state_dir)
