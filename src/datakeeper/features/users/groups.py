"""Privileged groups: memberships that amount to root, granted only when asked by name.

A member of ``sudo`` runs anything as root; ``disk`` reads and writes raw
block devices; ``docker``, ``lxd``, ``incus-admin`` and ``libvirt`` start a
container or VM with the host's disk mounted; ``shadow`` reads password
hashes; ``staff`` (Debian) writes ``/usr/local``, which is on root's PATH;
``adm`` and ``systemd-journal`` read every log; ``kmem`` reads kernel memory.
Recovery grants recorded groups again after every wipe, so a silent grant
would last for ever. ``kvm`` (``/dev/kvm`` only) and ``video`` / ``render``
(GPUs) are not on the list: they are what researchers on this server need.

The site admin (``admin`` in the config) is exempt: root declared that
account, and it usually needs ``sudo``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from datakeeper.engine.session import record_event
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _, ngettext
from datakeeper.registry import load_or_empty
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.registry import RegistryEntry

PRIVILEGED_GROUPS = frozenset(
    {
        "root",
        "sudo",
        "wheel",
        "admin",
        "shadow",
        "disk",
        "adm",
        "staff",
        "docker",
        "lxd",
        "incus-admin",
        "libvirt",
        "kmem",
        "systemd-journal",
    }
)
ALLOW_OPTION = "--allow-privileged-group"


def is_privileged(group: str) -> bool:
    """True for a group on the list, or any group with gid 0."""
    if group in PRIVILEGED_GROUPS:
        return True
    info = accounts.group_by_name(group)
    return info is not None and info.gid == 0


def privileged(groups: Iterable[str]) -> tuple[str, ...]:
    """The privileged groups among ``groups``, sorted."""
    return tuple(sorted({g for g in groups if is_privileged(g)}))


def check_privileged_groups(
    cfg: SiteConfig, name: str, groups: Iterable[str], allowed: Iterable[str]
) -> tuple[str, ...]:
    """Refuse any privileged group in ``groups`` that ``allowed`` does not name.

    Returns the privileged groups that are allowed (what to record and warn
    about); the site admin is exempt and gets ``()``. An allowance for a group
    that is not privileged, or not among ``groups``, is refused too: a typo in
    it must not pass silently.
    """
    groups, allowed = set(groups), set(allowed)
    for group in sorted(allowed):
        if not is_privileged(group):
            raise InvalidInputError(
                _("{option} {group}: not a privileged group; no allowance is needed").format(
                    option=ALLOW_OPTION, group=group
                )
            )
        if group not in groups:
            raise InvalidInputError(
                _("{option} {group}: {name} would not be in that group").format(
                    option=ALLOW_OPTION, group=group, name=name
                )
            )
    if name == cfg.admin:
        return ()
    refused = [g for g in privileged(groups) if g not in allowed]
    if refused:
        raise InvalidInputError(
            _(
                "group {group}: grants root-equivalent power to {name}; if that is really "
                "wanted, repeat with {option} {group}"
            ).format(group=refused[0], name=name, option=ALLOW_OPTION)
        )
    return privileged(allowed)


def recorded_allowance(cfg: SiteConfig, name: str) -> tuple[str, ...]:
    """The privileged groups the registry records as allowed for ``name``."""
    entry = load_or_empty(cfg.registry_path).users.get(name)
    return entry.privileged_groups_allowed if entry is not None else ()


def privileged_warning(name: str, groups: Iterable[str]) -> str:
    """The warning printed, logged and shown by ``user show`` and ``check``."""
    shown = sorted(groups)
    return ngettext(
        "{name} is in privileged group {groups}: root-equivalent power, explicitly allowed",
        "{name} is in privileged groups {groups}: root-equivalent power, explicitly allowed",
        len(shown),
    ).format(name=name, groups=", ".join(shown))


def log_privileged(cfg: SiteConfig, name: str, groups: tuple[str, ...], *, dry_run: bool) -> None:
    """Log the warning for privileged groups allowed now (the CLI prints it too)."""
    if groups and not dry_run:
        record_event(
            cfg,
            code="account.privileged_groups",
            resource=f"account {name}",
            event=privileged_warning(name, groups),
            outcome="warning",
        )


def unallowed_warning(name: str, groups: Iterable[str]) -> str:
    """A recorded privileged membership nobody allowed: recovery does not grant it."""
    shown = sorted(groups)
    return ngettext(
        "{name} is recorded in privileged group {groups} without an allowance; recovery "
        "does not grant it; allow with: datakeeper user set {name} {option} GROUP",
        "{name} is recorded in privileged groups {groups} without an allowance; recovery "
        "does not grant them; allow with: datakeeper user set {name} {option} GROUP",
        len(shown),
    ).format(name=name, groups=", ".join(shown), option=ALLOW_OPTION)


def registry_warnings(cfg: SiteConfig, entry: RegistryEntry) -> list[str]:
    """What ``user show`` and ``check`` say about a record's privileged groups."""
    if entry.name == cfg.admin:
        return []
    allowed = entry.privileged_groups_allowed
    unallowed = [g for g in privileged(entry.groups) if g not in allowed]
    found = [privileged_warning(entry.name, allowed)] if allowed else []
    if unallowed:
        found.append(unallowed_warning(entry.name, unallowed))
    return found


def grantable_groups(cfg: SiteConfig, entry: RegistryEntry) -> tuple[str, ...]:
    """The recorded groups recovery may grant: privileged ones only when allowed."""
    if entry.name == cfg.admin:
        return entry.groups
    allowed = set(entry.privileged_groups_allowed)
    return tuple(g for g in entry.groups if g in allowed or not is_privileged(g))
