"""The manifest of files datakeeper wrote, so it never overwrites someone else's file.

Kept on persistent storage (root-only, 0600) as ``{path: sha256}``. A file on
disk whose digest matches the manifest is ours to update; any other existing
file was written (or edited) by someone else and is left alone unless the
caller explicitly says to replace it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from datakeeper.errors import RegistryError
from datakeeper.i18n import _
from datakeeper.system.fs import atomic_write
from datakeeper.system.lock import exclusive_lock


class OwnedFilesManifest:
    """Read and update the manifest at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def digest_of(self, target: Path) -> str | None:
        """The digest recorded when datakeeper last wrote ``target``, if ever."""
        return self._load().get(str(target))

    def remember(self, target: Path, digest: str) -> None:
        """Record that datakeeper just wrote ``target`` with ``digest``."""
        self._update(str(target), digest)

    def forget(self, target: Path) -> None:
        """Drop ``target`` from the manifest (datakeeper removed it)."""
        self._update(str(target), None)

    def _update(self, key: str, digest: str | None) -> None:
        lock = self.path.with_name(self.path.name + ".lock")
        with exclusive_lock(lock, what=_("the managed-files manifest")):
            entries = self._load()
            if digest is None:
                entries.pop(key, None)
            else:
                entries[key] = digest
            data = json.dumps(entries, indent=2, sort_keys=True) + "\n"
            atomic_write(self.path, data.encode(), mode=0o600, uid=os.geteuid(), gid=os.getegid())

    def _load(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as error:
            raise RegistryError(
                _("{path}: invalid JSON ({why}); restore it or remove it to start over").format(
                    path=self.path, why=error
                )
            ) from error
        if not isinstance(entries, dict):
            raise RegistryError(_("{path}: expected a JSON object").format(path=self.path))
        return entries
