"""Describe a live account as a registry entry (what recovery must bring back)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from datakeeper.errors import ConflictError
from datakeeper.i18n import _
from datakeeper.registry.model import RegistryEntry
from datakeeper.system import accounts, sshkeys


def entry_from_system(
    name: str, *, home_layout: str = "link", privileged_allowed: Iterable[str] = ()
) -> RegistryEntry:
    """The registry entry matching account ``name`` as it is on this machine now.

    ``privileged_allowed`` is the admin's allowance for root-equivalent groups;
    only the ones the account is still in are recorded.
    """
    user = accounts.user_by_name(name)
    if user is None:
        raise ConflictError(_("account {name} does not exist").format(name=name))
    primary = accounts.group_by_gid(user.gid)
    if primary is None:
        raise ConflictError(
            _("account {name} has primary gid {gid}, which has no group entry").format(
                name=name, gid=user.gid
            )
        )
    groups = tuple(g for g in accounts.supplementary_groups(name) if g != primary.name)
    return RegistryEntry(
        name=name,
        uid=user.uid,
        gid=user.gid,
        primary_group=primary.name,
        groups=groups,
        shell=user.shell,
        gecos=user.gecos,
        password_hash=accounts.password_hash(name) or "",
        ssh_key_fingerprints=sshkeys.authorized_fingerprints(Path(user.home)),
        home_layout=home_layout,
        privileged_groups_allowed=tuple(g for g in privileged_allowed if g in groups),
    )
