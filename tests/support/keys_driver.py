"""Runs inside a disposable server: generate keys, converge ``AuthorizedKeys``.

Used by sandbox tests as ``python -m tests.support.keys_driver MODE ARGS…``:

- ``generate KIND COMMENT WORK_DIR KEYS_DIR USER``: a key pair, private half stored
  (``StoredPrivateKey``)
- ``plan|apply HOME USER GROUP``: the public keys on stdin, validated, then converged
- ``remove HOME USER GROUP FINGERPRINT…``: converge ``RemovedKeys``

Prints JSON; a datakeeper error prints ``{"error": ..., "type": ...}`` and exits
with its exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from datakeeper.engine import Executor
from datakeeper.features.users.keys import generate_key_pair, validate_public_keys
from datakeeper.resources.authorized_keys import AuthorizedKeys, RemovedKeys
from datakeeper.resources.private_key import StoredPrivateKey
from tests.support.driver import report


def _generate(kind: str, comment: str, work_dir: str, keys_dir: str, user: str) -> dict:
    key = generate_key_pair(kind, comment, Path(work_dir))
    resource = StoredPrivateKey(user, kind, Path(keys_dir), key.private_key_path, key.fingerprint)
    [change] = Executor().converge([resource]).applied
    key.discard()
    stored = change.after["path"]
    return {"private_key": stored, "public_key": key.public_key, "fp": key.fingerprint}


def _converge(mode: str, resource) -> dict:
    executor = Executor()
    if mode == "plan":
        return {"planned": [c.as_dict() for c in executor.plan([resource])]}
    return executor.converge([resource]).as_dict()


def run(mode: str, args: list[str]) -> dict:
    if mode == "generate":
        return _generate(*args)
    home, user, group, *rest = args
    if mode == "remove":
        return _converge("apply", RemovedKeys(Path(home), user, group, tuple(rest)))
    keys = tuple(k.line for k in validate_public_keys(sys.stdin.read()))
    return _converge(mode, AuthorizedKeys(Path(home), user, group, keys))


def main() -> int:
    return report(lambda: run(sys.argv[1], sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
