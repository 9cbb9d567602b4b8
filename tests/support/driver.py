"""Shared by the in-server drivers: run resources, print the outcome as one JSON line."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from datakeeper.engine import Executor, Resource
from datakeeper.errors import DatakeeperError


def outcome(mode: str, resources: Sequence[Resource], executor: Executor | None = None) -> dict:
    """``plan`` only plans; ``dry-run`` and ``apply`` converge (the former changes nothing)."""
    executor = executor or Executor(dry_run=(mode == "dry-run"))
    if mode == "plan":
        return {"planned": [c.as_dict() for c in executor.plan(resources)]}
    return executor.converge(resources).as_dict()


def report(work: Callable[[], dict]) -> int:
    """Print ``work()``'s result, or the datakeeper error it raised, as JSON; the exit code."""
    try:
        result = work()
    except DatakeeperError as error:
        print(json.dumps({"error": str(error), "type": type(error).__name__}))
        return int(error.exit_code)
    print(json.dumps(result))
    return 0
