"""This node's record after a ``recover`` (the sync writes its own): best effort,
and only where nodes keep records (a node joined: ``<state_dir>/nodes`` exists), so a
single server's recovery writes nothing new."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.cluster import state as node_state
from datakeeper.features.cluster.drift import node_drift
from datakeeper.i18n import _
from datakeeper.registry import load_or_empty

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

logger = logging.getLogger("datakeeper")


def record_recovery(cfg: SiteConfig, *, ok: bool, changes: list[str]) -> None:
    """Write this node's record: the generation applied, the changes, the drift left.
    A failure is a warning: the recovery itself is what logins wait for."""
    if not node_state.nodes_dir(cfg).is_dir():
        return
    try:
        document = load_or_empty(cfg.registry_path)
        node_state.beat(
            cfg,
            node_state.this_host(),
            last_recovery=node_state.now_iso(),
            last_ok=ok,
            generation=document.generation,
            applied=changes[:100],
            drift=node_drift(document),
        )
    except (OSError, DatakeeperError) as error:
        logger.warning(_("could not record this node's state: %s"), error)
