"""Each node's own record on the shared storage: ``<state_dir>/nodes/<hostname>.json``.

What one node last did: its datakeeper version, its last sync or recovery (time,
ok, the registry generation it applied, what it changed), the drift it found
(accounts that differ from the registry here) and its heartbeat. ``node list``
reads every node's record; each node writes only its own.

A record is bookkeeping, not a change to the system: it is written atomically
(temp file, fsync, rename) outside the executor, like a lock file's pid, because
the heartbeat of every sync would otherwise fill the action log.
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper import __version__
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.system.fs import atomic_write, read_nofollow

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

NODES_DIR = "nodes"
# A host name becomes a file name: letters, digits, dots, dashes and underscores only.
HOSTNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class NodeState:
    """One node's record (see the module)."""

    hostname: str
    version: str = __version__
    heartbeat: str | None = None  # ISO time of the last sync, recovery or join
    last_recovery: str | None = None  # ISO time of the last run that applied the registry
    last_ok: bool | None = None
    generation: int | None = None  # the registry generation that run applied
    applied: list[str] = field(default_factory=list)  # its changes, one sentence each
    drift: list[str] = field(default_factory=list)  # accounts that differ here

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def now_iso() -> str:
    """The current time in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def this_host() -> str:
    """This node's name, as its record is named; refused when unusable as a file name."""
    name = socket.gethostname().split(".")[0]
    if not HOSTNAME_RE.match(name):
        raise InvalidInputError(
            _("host name {name!r} cannot name a node record; fix: hostnamectl set-hostname NAME")
            .format(name=name)
        )  # fmt: skip
    return name


def nodes_dir(cfg: SiteConfig) -> Path:
    """The folder of every node's record, under the shared state directory."""
    return cfg.state_dir / NODES_DIR


def node_path(cfg: SiteConfig, hostname: str) -> Path:
    """The record of node ``hostname``."""
    return nodes_dir(cfg) / f"{hostname}.json"


def read_node(path: Path) -> NodeState | None:
    """The record at ``path``; None when it is missing or unreadable (a node mid-write
    never shows: records are replaced whole)."""
    data = read_nofollow(path)
    if data is None:
        return None
    try:
        raw = json.loads(data.decode("utf-8"))
        known = {key: raw[key] for key in NodeState.__dataclass_fields__ if key in raw}
        return NodeState(**known)
    except (UnicodeDecodeError, ValueError, TypeError, KeyError):
        return None


def list_nodes(cfg: SiteConfig) -> list[NodeState]:
    """Every node's record, by host name."""
    try:
        paths = sorted(nodes_dir(cfg).glob("*.json"))
    except OSError:
        return []
    records = [read_node(path) for path in paths]
    return [record for record in records if record is not None]


def write_node(cfg: SiteConfig, state: NodeState) -> None:
    """Replace this node's record (root-only, in a root-only folder)."""
    folder = nodes_dir(cfg)
    folder.mkdir(mode=0o700, exist_ok=True)
    text = json.dumps(state.as_dict(), indent=2, sort_keys=True) + "\n"
    atomic_write(
        node_path(cfg, state.hostname),
        text.encode(),
        mode=0o600,
        uid=os.geteuid(),
        gid=os.getegid(),
    )


def beat(cfg: SiteConfig, hostname: str, **changes: Any) -> NodeState:
    """Write this node's record with a fresh heartbeat and ``changes``; return it."""
    current = read_node(node_path(cfg, hostname)) or NodeState(hostname)
    state = replace(current, version=__version__, heartbeat=now_iso(), **changes)
    write_node(cfg, state)
    return state
