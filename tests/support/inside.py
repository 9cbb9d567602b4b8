"""Runs inside a disposable server: build resources from JSON, plan or apply them.

Used by sandbox tests as ``python -m tests.support.inside MODE SPEC_JSON`` so that
the real resources act on the server's real ``/etc`` and mounts. Prints the
outcome as JSON; a datakeeper error prints ``{"error": ..., "type": ...}`` and
exits with its exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from datakeeper.engine import Executor
from datakeeper.managed import OwnedFilesManifest
from datakeeper.resources import (
    Directory,
    Group,
    GroupMembership,
    ManagedFile,
    SudoersDropIn,
    Symlink,
    UserAccount,
)
from datakeeper.resources.ownership import Ownership
from datakeeper.storage import StorageGuard
from tests.support.driver import outcome, report

MANIFEST = Path("/data/config/datakeeper/managed-files.json")


def build(spec: dict):
    kind = spec.pop("type")
    if kind == "group":
        return Group(**spec)
    if kind == "membership":
        return GroupMembership(**spec)
    if kind == "account":
        return UserAccount(**{**spec, "groups": tuple(spec.get("groups", ()))})
    if kind == "directory":
        return Directory(Path(spec["path"]), _ownership(spec))
    if kind == "symlink":
        return Symlink(Path(spec["path"]), Path(spec["target"]))
    manifest = OwnedFilesManifest(Path(spec.get("manifest", MANIFEST)))
    content = spec["content"].encode()
    if kind == "file":
        return ManagedFile(
            Path(spec["path"]),
            content,
            _ownership(spec),
            manifest,
            secret=spec.get("secret", False),
            replace_unmanaged=spec.get("replace_unmanaged", False),
        )
    if kind == "sudoers":
        path = Path(spec["path"])
        return SudoersDropIn.named(path.name, content, manifest, directory=path.parent)
    raise SystemExit(f"unknown resource type {kind}")


def _ownership(spec: dict) -> Ownership:
    return Ownership(spec.get("owner", "root"), spec.get("group", "root"), int(spec["mode"], 8))


def main() -> int:
    mode, specs = sys.argv[1], json.loads(sys.argv[2])
    roots = [Path(p) for p in json.loads(sys.argv[3])] if len(sys.argv) > 3 else []
    executor = Executor(dry_run=(mode == "dry-run"), guard=StorageGuard(roots) if roots else None)
    return report(lambda: outcome(mode, [build(dict(s)) for s in specs], executor))


if __name__ == "__main__":
    sys.exit(main())
