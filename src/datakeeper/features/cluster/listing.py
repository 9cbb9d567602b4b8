"""``datakeeper node list``: every node's record, judged against the registry now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from datakeeper.features.cluster.state import NodeState, list_nodes
from datakeeper.registry import load_or_empty
from datakeeper.status import NodeStatus

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass(frozen=True)
class NodeRow:
    """One node: its record, its status, and seconds since its heartbeat (None: never)."""

    state: NodeState
    status: NodeStatus
    age: int | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.state.as_dict(), "status": self.status.value, "heartbeat_age_s": self.age}


@dataclass(frozen=True)
class NodeList:
    """The registry's generation now and every node's row."""

    generation: int
    rows: list[NodeRow]

    def as_dict(self) -> dict[str, Any]:
        return {"generation": self.generation, "nodes": [row.as_dict() for row in self.rows]}


def node_list(cfg: SiteConfig, *, now: datetime | None = None) -> NodeList:
    """Every node sharing this ``state_dir``, worst news first per node."""
    generation = load_or_empty(cfg.registry_path).generation
    moment = now or datetime.now(timezone.utc)
    rows = []
    for state in list_nodes(cfg):
        age = _age(state.heartbeat, moment)
        rows.append(NodeRow(state, judge(state, generation, age, cfg.cluster.stale_after), age))
    return NodeList(generation, rows)


def judge(state: NodeState, generation: int, age: int | None, stale_after: int) -> NodeStatus:
    """A node's status: stale, failed, drift, behind, else up to date (first that holds)."""
    if age is None or age > stale_after:
        return NodeStatus.STALE
    if state.last_ok is False:
        return NodeStatus.FAILED
    if state.drift:
        return NodeStatus.DRIFT
    if state.generation != generation:
        return NodeStatus.BEHIND
    return NodeStatus.UP_TO_DATE


def _age(stamp: str | None, now: datetime) -> int | None:
    if not stamp:
        return None
    try:
        then = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    return max(int((now - then).total_seconds()), 0)
