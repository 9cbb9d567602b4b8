"""How this node differs from the shared registry: what ``node sync`` repairs and
``check`` and ``node list`` report.

Read-only. An account differs when it is missing here, when its ids differ, when
a local account holds a registered uid under another name, or when an account
removed from the registry still exists here. Files on ``/data`` all shown as
``nobody`` mean an NFSv4 idmap mismatch, which no sync can repair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datakeeper.i18n import _
from datakeeper.registry import RegistryDocument, RegistryEntry
from datakeeper.system import accounts
from datakeeper.system.nfs import NOBODY, nobody_owned
from datakeeper.text import printable

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


def node_drift(document: RegistryDocument) -> list[str]:
    """One sentence per account or group that differs from the registry here."""
    problems = [p for entry in document.users.values() if (p := account_drift(entry))]
    problems += retired_present(document)
    for name, gid in sorted(document.groups.items()):
        group = accounts.group_by_name(name)
        if group is None or group.gid != gid:
            problems.append(_("group {name}: missing here or gid differs").format(name=name))
    return problems


def account_drift(entry: RegistryEntry) -> str | None:
    """Why registered account ``entry`` differs here, or None."""
    user = accounts.user_by_name(entry.name)
    holder = accounts.user_by_uid(entry.uid)
    if holder is not None and holder.name != entry.name:
        return _("{name}: its uid {uid} is held here by local account {other}").format(
            name=entry.name, uid=entry.uid, other=printable(holder.name)
        )
    if user is None:
        return _("{name}: missing here").format(name=entry.name)
    if (user.uid, user.gid) != (entry.uid, entry.gid):
        return _("{name}: uid/gid {a}/{b} here, {c}/{d} in the registry").format(
            name=entry.name, a=user.uid, b=user.gid, c=entry.uid, d=entry.gid
        )
    return None


def retired_present(document: RegistryDocument) -> list[str]:
    """Accounts removed from the registry (on another node) that still exist here."""
    found = []
    for name in stale_accounts(document):
        found.append(
            _("{name}: removed from the registry, still an account here").format(name=name)
        )
    return found


def stale_accounts(document: RegistryDocument) -> list[str]:
    """Names retired in the registry that exist here with their last recorded uid."""
    names = []
    for name, uid in sorted(document.retired.items()):
        user = accounts.user_by_name(name)
        if name not in document.users and user is not None and user.uid == uid:
            names.append(name)
    return names


def idmap_problem(cfg: SiteConfig, document: RegistryDocument) -> str | None:
    """A sentence when the homes on storage show as owned by nobody while the registry
    records real owners (an NFSv4 idmap mismatch), else None."""
    entries = [e for e in document.users.values() if e.uid != NOBODY]
    homes = [cfg.users_dir / e.name for e in entries if (cfg.users_dir / e.name).exists()]
    shown = nobody_owned(homes)
    if not homes or len(shown) < len(homes):
        return None
    return _(
        "every home under {path} shows as owned by nobody (65534) while the registry records "
        "real uids: an NFSv4 idmap mismatch; fix: the same Domain in /etc/idmapd.conf on the "
        "server and every node (or sec=sys without idmapping), then remount"
    ).format(path=cfg.users_dir)
