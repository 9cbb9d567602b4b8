"""Runs inside a disposable server: converge the sudo policy of a site config.

Used by sandbox tests as ``python -m tests.support.sudo_driver MODE [CONFIG_TOML]``
(MODE: plan, dry-run or apply). Prints the outcome as JSON; a datakeeper
error prints ``{"error": ..., "type": ...}`` and exits with its exit code.
"""

from __future__ import annotations

import sys

from datakeeper.config import parse_config
from datakeeper.features.setup.sudo import sudo_resources
from datakeeper.managed import OwnedFilesManifest
from tests.support.driver import outcome, report


def main() -> int:
    mode = sys.argv[1]
    text = sys.argv[2] if len(sys.argv) > 2 else ""

    def work() -> dict:
        cfg = parse_config(text, "test")
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        return outcome(mode, sudo_resources(cfg, OwnedFilesManifest(cfg.managed_files_path)))

    return report(work)


if __name__ == "__main__":
    sys.exit(main())
