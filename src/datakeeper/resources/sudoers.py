"""A sudoers drop-in, installed so that an invalid policy is never left in place.

Facts this follows (docs/security.md): sudo's ``@includedir``
ignores names with a dot or ending in ``~`` (so the name must have neither and
the temporary file must have a dot); drop-ins are root:root 0440; ``visudo -c``
on a single file checks syntax only, so after the rename the whole policy is
checked again and the previous file restored if it fails.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from datakeeper.errors import CommandError, InvalidInputError
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.resources.file import ManagedFile, sha256
from datakeeper.resources.ownership import Ownership
from datakeeper.system import visudo
from datakeeper.system.fs import atomic_write, fsync_directory

SUDOERS_DIR = Path("/etc/sudoers.d")
VALID_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
SUDOERS_OWNERSHIP = Ownership("root", "root", 0o440)


def sudoers_path(name: str, directory: Path = SUDOERS_DIR) -> Path:
    """Where drop-in ``name`` lives; refuses names sudo would silently ignore."""
    if not VALID_NAME.match(name):
        raise InvalidInputError(
            _(
                'sudoers drop-in name "{name}": use only letters, digits, "_" and "-" '
                '(sudo silently ignores names with "." or ending in "~")'
            ).format(name=name)
        )
    return directory / name


@dataclass(frozen=True)
class SudoersDropIn(ManagedFile):
    """``/etc/sudoers.d/NAME`` with ``content``, checked by visudo before and after.

    Build it with ``SudoersDropIn.named(...)``: the name is validated and the
    ownership is always root:root 0440.
    """

    @classmethod
    def named(
        cls, name: str, content: bytes, manifest: OwnedFilesManifest, directory: Path = SUDOERS_DIR
    ) -> SudoersDropIn:
        """The drop-in called ``name`` (refused if sudo would silently ignore it)."""
        return cls(sudoers_path(name, directory), content, SUDOERS_OWNERSHIP, manifest)

    def __post_init__(self) -> None:
        sudoers_path(self.path.name, self.path.parent)
        if self.ownership != SUDOERS_OWNERSHIP:
            raise ValueError("sudoers drop-ins are root:root 0440")

    @property
    def id(self) -> str:
        return f"sudoers {self.path}"

    def _write(self) -> None:
        candidate = self._write_candidate()
        try:
            self._check_candidate(candidate)
            previous = self._current_or_none()
            os.replace(candidate, self.path)
        except BaseException:
            candidate.unlink(missing_ok=True)
            raise
        fsync_directory(self.path.parent)
        try:
            visudo.check_policy()
        except CommandError as error:
            self._restore(previous)
            raise InvalidInputError(
                _("sudo policy invalid with {path}; previous state restored: {why}").format(
                    path=self.path, why=error
                )
            ) from error
        self.manifest.remember(self.path, sha256(self.content))

    def _check_candidate(self, candidate: Path) -> None:
        try:
            visudo.check_file(candidate)
        except CommandError as error:
            raise InvalidInputError(
                _("sudoers drop-in {path} rejected by visudo, nothing installed: {why}").format(
                    path=self.path, why=error
                )
            ) from error

    def _write_candidate(self) -> Path:
        fd, name = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            os.fchown(fd, 0, 0)
            os.fchmod(fd, self.ownership.mode)
            os.write(fd, self.content)
            os.fsync(fd)
        finally:
            os.close(fd)
        return Path(name)

    def _current_or_none(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def _restore(self, previous: bytes | None) -> None:
        if previous is None:
            os.unlink(self.path)
            fsync_directory(self.path.parent)
        else:
            atomic_write(
                self.path, previous, mode=self.ownership.mode, uid=0, gid=0, tmp_prefix="."
            )
