"""``user set``, ``register``, ``unregister``: change a user and keep the registry in step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine import Change, Outcome, Resource
from datakeeper.engine.session import change_session
from datakeeper.errors import InvalidInputError
from datakeeper.features.users.add import check_groups, registry_records
from datakeeper.features.users.groups import (
    check_privileged_groups,
    log_privileged,
    recorded_allowance,
)
from datakeeper.features.users.keys import validate_public_keys
from datakeeper.features.users.layouts import keys_folder
from datakeeper.features.users.names import check_username_syntax
from datakeeper.features.users.shells import resolve_shell
from datakeeper.i18n import _
from datakeeper.registry import read_document
from datakeeper.resources import UserAccount
from datakeeper.resources.authorized_keys import AuthorizedKeys, RemovedKeys
from datakeeper.resources.unregistered import Unregistered
from datakeeper.system import accounts, logindefs

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass(frozen=True)
class SetRequest:
    name: str
    shell: str | None = None
    add_groups: tuple[str, ...] = ()
    remove_groups: tuple[str, ...] = ()
    add_keys: str | None = None  # public key text
    remove_keys: tuple[str, ...] = ()  # fingerprints
    allow_privileged: tuple[str, ...] = ()  # root-equivalent groups allowed by name


def set_user(
    cfg: SiteConfig,
    request: SetRequest,
    *,
    dry_run: bool,
    on_change: Callable[[Change, str], None] | None = None,
) -> Outcome:
    """Apply the requested changes; a registered user's record follows.

    Every value is checked before the session opens; a privileged group the
    account would have (and the registry would record) must be allowed, now
    or before.
    """
    user = _human_account(request.name)
    if request.name == cfg.admin and cfg.group in request.remove_groups:
        raise InvalidInputError(_("the admin must stay in the site group {g}").format(g=cfg.group))
    account = _account_change(cfg, request, user)
    registered = _is_registered(cfg, request.name)
    allowed = _allowed(cfg, request, account[0].groups, registered)
    resources = account + _key_changes(cfg, request, user)
    if registered:
        resources += registry_records(cfg, request.name, account[0].groups, allowed)
    with change_session(cfg, dry_run=dry_run) as session:
        outcome = session.converge(resources, on_change=on_change)
    log_privileged(cfg, request.name, tuple(request.allow_privileged), dry_run=dry_run)
    return outcome


def _allowed(
    cfg: SiteConfig, request: SetRequest, groups: tuple[str, ...], registered: bool
) -> tuple[str, ...]:
    """The privileged groups allowed for the account's groups after the change.

    Unregistered, only what this command grants counts (nothing is recorded)."""
    checked = groups if registered else request.add_groups
    before = recorded_allowance(cfg, request.name) if registered else ()
    allowed = {*request.allow_privileged, *(g for g in before if g in checked)}
    return check_privileged_groups(cfg, request.name, checked, allowed)


def _human_account(name: str) -> accounts.UserInfo:
    check_username_syntax(name)
    user = accounts.user_by_name(name)
    if user is None:
        raise InvalidInputError(_("user {name}: no such account").format(name=name))
    if user.uid < logindefs.uid_min():
        raise InvalidInputError(
            _(
                "user {name}: a system account (uid {uid}); datakeeper manages researchers only"
            ).format(name=name, uid=user.uid)
        )
    return user


def _account_change(cfg: SiteConfig, request: SetRequest, user) -> list[Resource]:
    primary = accounts.group_by_gid(user.gid)
    current = set(accounts.supplementary_groups(user.name)) - {primary.name if primary else ""}
    if request.add_groups:
        check_groups(cfg, request.add_groups)
    unknown = set(request.remove_groups) - current
    if unknown:
        raise InvalidInputError(
            _("--remove-groups: {name} is not in {groups}").format(
                name=user.name, groups=", ".join(sorted(unknown))
            )
        )
    groups = tuple(sorted((current | set(request.add_groups)) - set(request.remove_groups)))
    shell = resolve_shell(cfg, request.shell) if request.shell else user.shell
    group_name = primary.name if primary else str(user.gid)
    return [UserAccount(user.name, user.uid, group_name, groups, shell, user.gecos, user.home)]


def _key_changes(cfg: SiteConfig, request: SetRequest, user) -> list[Resource]:
    if not request.add_keys and not request.remove_keys:
        return []
    primary = accounts.group_by_gid(user.gid)
    group = primary.name if primary else str(user.gid)
    home = keys_folder(cfg, user.name, Path(user.home))  # a hybrid home: its dotfiles
    resources: list[Resource] = []
    if request.add_keys:
        keys = tuple(k.line for k in validate_public_keys(request.add_keys))
        resources.append(AuthorizedKeys(home, user.name, group, keys))
    if request.remove_keys:
        resources.append(RemovedKeys(home, user.name, group, request.remove_keys))
    return resources


def _is_registered(cfg: SiteConfig, name: str) -> bool:
    return cfg.registry_path.exists() and name in read_document(cfg.registry_path).users


def register_user(
    cfg: SiteConfig,
    name: str,
    *,
    dry_run: bool,
    on_change=None,
    allow_privileged: tuple[str, ...] = (),
) -> Outcome:
    """Record an account created by other means, so recovery brings it back.

    A member of a privileged group (sudo, docker …) is refused unless that group
    is in ``allow_privileged``: recovery would grant it again after every wipe.
    """
    user = _human_account(name)
    groups = tuple(accounts.supplementary_groups(user.name))
    allowed = check_privileged_groups(cfg, name, groups, allow_privileged)
    with change_session(cfg, dry_run=dry_run) as session:
        outcome = session.converge(
            registry_records(cfg, name, groups, allowed), on_change=on_change
        )
    log_privileged(cfg, name, allowed, dry_run=dry_run)
    return outcome


def unregister_user(cfg: SiteConfig, name: str, *, dry_run: bool, on_change=None) -> Outcome:
    """Forget an account in the registry (the account itself is untouched)."""
    check_username_syntax(name)
    if not _is_registered(cfg, name):
        raise InvalidInputError(_("user {name}: not in the registry").format(name=name))
    if name == cfg.admin:
        raise InvalidInputError(_("user {name}: the site admin stays registered").format(name=name))
    with change_session(cfg, dry_run=dry_run) as session:
        return session.converge([Unregistered(name, cfg.registry_path)], on_change=on_change)
