"""The ``[cluster]`` section: several servers sharing one ``/data``.

Each node converges to the shared registry by itself (``datakeeper node sync``,
run by a systemd path unit watching the registry and a timer); these settings
say how often, and when a node's heartbeat counts as stale.

- ``sync_interval``: seconds between two timer runs on every node (default 30,
  so a change reaches every node within a minute even when the path unit cannot
  see it, as on NFS where inotify misses other machines' writes);
- ``stale_after``: seconds without a heartbeat after which ``node list`` calls a
  node stale (default 5 minutes);
- ``read_timeout``: seconds a read of the registry may take before datakeeper
  gives up with a message naming the slow storage (default 20).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from datakeeper.config import rules
from datakeeper.config.sections import _Model

DEFAULT_SYNC_INTERVAL = 30
SyncInterval = Annotated[int, AfterValidator(rules.int_range(5, 3600))]
StaleAfter = Annotated[int, AfterValidator(rules.int_range(30, 7 * 24 * 3600))]
ReadTimeout = Annotated[int, AfterValidator(rules.int_range(1, 600))]


class ClusterConfig(_Model):
    """How nodes sharing this ``/data`` follow the registry."""

    sync_interval: SyncInterval = DEFAULT_SYNC_INTERVAL
    stale_after: StaleAfter = 300
    read_timeout: ReadTimeout = 20
