"""``datakeeper check`` on a node of a shared ``/data``: the NODE lines.

Only where nodes keep records (a node joined). Accounts that differ from the
registry are the REGISTRY lines' (``check/audits.py``); here: whether this node
applied the registry's current generation, accounts removed on another node that
still exist here, and an NFSv4 idmap mismatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datakeeper.errors import DatakeeperError
from datakeeper.features.check.result import FAIL, PASS, WARN, CheckResult
from datakeeper.features.cluster import state as node_state
from datakeeper.features.cluster.drift import idmap_problem, retired_present
from datakeeper.i18n import _
from datakeeper.registry import load_or_empty

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


def check_node(cfg: SiteConfig) -> list[CheckResult]:
    """The NODE lines (none on a server that never joined a shared /data)."""
    if not node_state.nodes_dir(cfg).is_dir():
        return []
    try:
        host = node_state.this_host()
        document = load_or_empty(cfg.registry_path)
    except DatakeeperError as error:
        return [CheckResult("NODE", _("this node"), FAIL, str(error))]
    record = node_state.read_node(node_state.node_path(cfg, host))
    applied = record.generation if record else None
    subject = _("node {host}").format(host=host)
    if applied == document.generation:
        line = _("applied registry generation {g}").format(g=applied)
        results = [CheckResult("NODE", subject, PASS, line)]
    else:
        line = _(
            "applied registry generation {a}, the registry is at {g}: the node sync has not "
            "run since; run 'datakeeper node sync'"
        ).format(a="-" if applied is None else applied, g=document.generation)
        results = [CheckResult("NODE", subject, WARN, line)]
    results += [CheckResult("NODE", subject, FAIL, p) for p in retired_present(document)]
    problem = idmap_problem(cfg, document)
    if problem:
        results.append(
            CheckResult("NODE", _("owners on {path}").format(path=cfg.users_dir), FAIL, problem)
        )
    return results
