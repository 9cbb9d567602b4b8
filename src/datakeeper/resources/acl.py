"""A default ACL giving the group rwx on new entries, whatever each user's umask."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.i18n import _
from datakeeper.system import commands

DEFAULT_ACL_XATTR = "system.posix_acl_default"
WANTED = "u::rwx,g::rwx,o::r-x"


def default_acl_supported(path: Path) -> bool:
    """Whether the filesystem holding ``path`` takes default ACLs (NFSv3 often does not)."""
    try:
        os.getxattr(path, DEFAULT_ACL_XATTR, follow_symlinks=False)
    except OSError as error:
        return error.errno in (errno.ENODATA, errno.ENOENT)
    return True


def current_default_acl(path: Path) -> str:
    """The default ACL of ``path`` as ``getfacl`` prints it, one comma-joined line."""
    result = commands.run(
        ["getfacl", "--omit-header", "--default", "--absolute-names", "--", str(path)]
    )
    short = {"user": "u", "group": "g", "other": "o", "mask": "m"}
    entries = []
    for line in result.stdout.split():
        kind, _sep, rest = line.removeprefix("default:").partition(":")
        if kind != "mask":
            entries.append(f"{short.get(kind, kind)}:{rest}")
    return ",".join(sorted(entries))


@dataclass(frozen=True)
class DefaultGroupAcl(Resource):
    """Directory ``path`` carries the default ACL ``u::rwx,g::rwx,o::r-x``."""

    path: Path

    @property
    def id(self) -> str:
        return f"acl {self.path}"

    def touches(self) -> tuple[Path, ...]:
        return (self.path,)

    def plan(self) -> list[Change]:
        if self.path.is_dir() and current_default_acl(self.path) == _normalized(WANTED):
            return []
        summary = _("give {path} a default ACL: new files group-writable ({acl})").format(
            path=self.path, acl=WANTED
        )
        return [Change(self.id, summary, self._set, None, {"default_acl": WANTED})]

    def _set(self) -> None:
        commands.run(
            ["setfacl", "--physical", "--default", "--modify", WANTED, "--", str(self.path)]
        )


def _normalized(acl: str) -> str:
    return ",".join(sorted(acl.split(",")))
