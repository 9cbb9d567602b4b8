"""Runs inside a disposable server: converge the sudo policy of a site config.

Used by sandbox tests as ``python -m tests.support.sudo_driver MODE [CONFIG_TOML]``
(MODE: plan, dry-run or apply). Prints the outcome as JSON; a datakeeper
error prints ``{"error": ..., "type": ...}`` and exits with its exit code.
"""

from __future__ import annotations

import json
import sys

from datakeeper.config import parse_config
from datakeeper.engine import Executor
from datakeeper.errors import DatakeeperError
from datakeeper.features.sudo_policy import sudo_resources
from datakeeper.managed import ManagedFiles


def main() -> int:
    mode = sys.argv[1]
    text = sys.argv[2] if len(sys.argv) > 2 else ""
    try:
        cfg = parse_config(text, "test")
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        resources = sudo_resources(cfg, ManagedFiles(cfg.managed_files_path))
        executor = Executor(dry_run=(mode == "dry-run"))
        if mode == "plan":
            result = {"planned": [c.as_dict() for c in executor.plan(resources)]}
        else:
            result = executor.converge(resources).as_dict()
    except DatakeeperError as error:
        print(json.dumps({"error": str(error), "type": type(error).__name__}))
        return int(error.exit_code)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
