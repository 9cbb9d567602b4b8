"""``user list`` / ``user show``: registered and live accounts side by side, with drift."""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.errors import DatakeeperError, InvalidInputError
from datakeeper.features.disk.scan import scan_tree
from datakeeper.features.users.groups import registry_warnings
from datakeeper.features.users.names import check_username_syntax
from datakeeper.i18n import N_, _
from datakeeper.registry import RegistryDocument, RegistryEntry, load_or_empty
from datakeeper.registry.live import entry_from_system
from datakeeper.system import accounts, logindefs, sshkeys

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

COMPARED = (
    "uid",
    "gid",
    "primary_group",
    "groups",
    "shell",
    "gecos",
    "password_hash",
    "ssh_key_fingerprints",
)


@dataclass(frozen=True)
class UserSummary:
    """One row of ``user list``: live values where the account exists, recorded ones otherwise."""

    name: str
    uid: int | None
    groups: list[str]
    shell: str | None
    home: str
    home_target: str | None  # where /home/NAME really leads
    home_layout: str  # "link" (to the users' folder on the data disk) or "other"
    keys: list[str]  # SSH key fingerprints
    state: str  # see drift()
    last_login: str | None
    size_bytes: int | None  # measured only when asked

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in order (``--json``, and ``user show`` for people)."""
        return asdict(self)


@dataclass(frozen=True)
class UserDetails(UserSummary):
    """``user show``: the row, its home measured, and the registry entry (hash masked)."""

    registry: dict[str, Any] | None = None


_STATE_WORDS = {
    "registered": N_("registered"),
    "unregistered": N_("unregistered"),
    "missing": N_("missing"),
}
_DRIFT_PREFIX = "drift: "


def state_for_people(state: str) -> str:
    """``state`` (a stable word, as ``--json`` gives it) in the reader's language."""
    if state.startswith(_DRIFT_PREFIX):
        return _("drift: {fields}").format(fields=state[len(_DRIFT_PREFIX) :])
    return _(_STATE_WORDS[state]) if state in _STATE_WORDS else state


def drift(recorded: RegistryEntry | None, live: RegistryEntry | None) -> str:
    """``registered``, ``unregistered``, ``missing``, or ``drift: field, field``."""
    if recorded is None:
        return "unregistered"
    if live is None:
        return "missing"
    fields = [f for f in COMPARED if getattr(recorded, f) != getattr(live, f)]
    if not fields:
        return "registered"
    shown = ["password" if f == "password_hash" else f for f in fields]
    return _DRIFT_PREFIX + ", ".join(shown)


def list_users(cfg: SiteConfig, *, sizes: bool = False) -> list[UserSummary]:
    """Every registered account and every human account on this machine, by name."""
    document = _document(cfg)
    names = set(document.users) | _human_accounts()
    return [describe_user(cfg, name, document, size=sizes) for name in sorted(names)]


def show_user(cfg: SiteConfig, name: str) -> UserDetails:
    """Everything about one account (the password hash masked)."""
    check_username_syntax(name)
    document = _document(cfg)
    if name not in document.users and accounts.user_by_name(name) is None:
        raise InvalidInputError(
            _("user {name}: no such account or registry entry").format(name=name)
        )
    row = describe_user(cfg, name, document, size=True)
    recorded = document.users.get(name)
    return UserDetails(**vars(row), registry=recorded.masked() if recorded else None)


def show_self(cfg: SiteConfig, name: str) -> UserSummary:
    """``user show`` of one's own account, without root: the live account and home.

    The registry and ``/etc/shadow`` are root's, so neither is read: no password
    hash, and the registry state is not known (``state`` says so).
    """
    user = accounts.user_by_name(name)
    if user is None:
        raise InvalidInputError(_("user {name}: no such account").format(name=name))
    primary = accounts.group_by_gid(user.gid)
    own = primary.name if primary else None
    groups = [g for g in accounts.supplementary_groups(name) if g != own]
    home = Path("/home") / name
    return UserSummary(
        name=name,
        uid=user.uid,
        groups=groups,
        shell=user.shell,
        home=str(home),
        home_target=os.path.realpath(home) if os.path.lexists(home) else None,
        home_layout=_layout(home, cfg),
        keys=list(sshkeys.authorized_fingerprints(Path(user.home))),
        state=_("unknown: the registry is root's"),
        last_login=last_login(name),
        size_bytes=_size(cfg.users_dir / name),
    )


def user_warnings(cfg: SiteConfig, name: str) -> list[str]:
    """What the admin should know about ``name``: privileged groups allowed or not."""
    recorded = _document(cfg).users.get(name)
    return registry_warnings(cfg, recorded) if recorded is not None else []


def describe_user(
    cfg: SiteConfig, name: str, document: RegistryDocument, *, size: bool
) -> UserSummary:
    """One row: live values where the account exists, recorded ones otherwise."""
    recorded = document.users.get(name)
    live = _live_entry(name)
    source = live or recorded
    home = Path("/home") / name
    return UserSummary(
        name=name,
        uid=source.uid if source else None,
        groups=list(source.groups) if source else [],
        shell=source.shell if source else None,
        home=str(home),
        home_target=os.path.realpath(home) if os.path.lexists(home) else None,
        home_layout=recorded.home_layout if recorded else _layout(home, cfg),
        keys=list(source.ssh_key_fingerprints) if source else [],
        state=drift(recorded, live),
        last_login=last_login(name),
        size_bytes=_size(cfg.users_dir / name) if size else None,
    )


def _document(cfg: SiteConfig) -> RegistryDocument:
    return load_or_empty(cfg.registry_path)


def _human_accounts() -> set[str]:
    low, high = logindefs.uid_min(), logindefs.uid_max()
    return {p.pw_name for p in pwd.getpwall() if low <= p.pw_uid <= high}


def _live_entry(name: str) -> RegistryEntry | None:
    if accounts.user_by_name(name) is None:
        return None
    try:
        return entry_from_system(name)
    except DatakeeperError:
        return None


def _layout(home: Path, cfg: SiteConfig) -> str:
    if home.is_symlink() and Path(os.path.realpath(home)).parent == cfg.users_dir:
        return "link"
    return "other"


def last_login(name: str) -> str | None:
    """Last login time from ``lastlog`` (None when never, or unknown)."""
    try:
        out = subprocess.run(
            ["lastlog", "--user", name], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.strip().splitlines()
    if len(lines) < 2 or "Never logged in" in lines[1]:
        return None
    fields = lines[1].split()
    return " ".join(fields[-6:]) if len(fields) >= 6 else None


def _size(path: Path) -> int | None:
    """Allocated bytes under ``path`` (like ``du -sB1``), or None when it is not a directory."""
    if not path.is_dir():
        return None
    return scan_tree(path).total.bytes
