"""A generated private key, kept root-only until the admin hands it over."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.system import sshkeys

KEY_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
KIND = re.compile(r"[a-z0-9]{1,16}")  # both name a file in keys_dir: no "/" nor ".."
MAX_NAMES = 100


def private_key_id(user: str) -> str:
    """The resource name a stored private key of ``user`` is planned and logged under."""
    return f"private key {user}"


@dataclass(frozen=True)
class StoredPrivateKey(Resource):
    """The private key at ``source`` (a temporary file) is moved into the root-only
    ``keys_dir`` as ``<user>_<kind>`` (0600; the directory 0700).

    An existing file is never overwritten: the new key gets a timestamped name,
    chosen when planning, so the plan, the log and the handout name the same
    path. The sentence names the path and the fingerprint, never the key.
    ``source`` is None in a dry run, where no key pair is generated: the plan
    says one would be. Once moved, the source is gone and nothing is planned.
    """

    user: str
    kind: str
    keys_dir: Path
    source: Path | None = None
    fingerprint: str = ""

    @property
    def id(self) -> str:
        return private_key_id(self.user)

    def touches(self) -> tuple[Path, ...]:
        return (self.keys_dir,)

    def plan(self) -> list[Change]:
        if not KEY_NAME.fullmatch(self.user):
            raise InvalidInputError(
                _("user name '{user}' cannot name a key file").format(user=self.user[:40])
            )
        if not KIND.fullmatch(self.kind):
            raise InvalidInputError(
                _("key kind '{kind}' cannot name a key file").format(kind=self.kind[:40])
            )
        if self.source is not None and not os.path.lexists(self.source):
            return []
        path = self.keys_dir / self._free_name()
        after = {"path": str(path), "mode": "0600", "fingerprint": self.fingerprint or None}
        return [Change(self.id, self._summary(path), lambda: self._store(path.name), None, after)]

    def _summary(self, path: Path) -> str:
        if self.source is None:
            return _(
                "generate an {kind} key pair for {user} and keep the private key in {path} "
                "(0600, root only) until it is handed over"
            ).format(kind=self.kind, user=self.user, path=path)
        return _(
            "keep {user}'s new {kind} private key ({fingerprint}) in {path} "
            "(0600, root only) until it is handed over"
        ).format(user=self.user, kind=self.kind, fingerprint=self.fingerprint, path=path)

    def _free_name(self) -> str:
        base = f"{self.user}_{self.kind}"
        stamp = time.strftime("%Y%m%dT%H%M%S")
        names = [base, f"{base}_{stamp}", *(f"{base}_{stamp}_{n}" for n in range(2, MAX_NAMES))]
        free = (name for name in names if not os.path.lexists(self.keys_dir / name))
        return next(free, names[-1])  # all taken: storing it reports the conflict

    def _store(self, name: str) -> None:
        if self.source is None:
            raise InvalidInputError(
                _("no key pair was generated for {user}").format(user=self.user)
            )
        sshkeys.store_secret(self.keys_dir, [name], self.source.read_bytes())
        self.source.unlink()
