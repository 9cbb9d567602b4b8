"""``datakeeper user add``: an account, its persistent home, keys, dotfiles, registry entry."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine import Change, Outcome, Resource
from datakeeper.engine.session import change_session
from datakeeper.errors import ConflictError, InvalidInputError, RefusedError
from datakeeper.features.setup.envfiles import member_condarc
from datakeeper.features.users import keys as ssh_keys
from datakeeper.features.users.dotfiles import hpcrc, rc_files
from datakeeper.features.users.groups import (
    check_privileged_groups,
    log_privileged,
    recorded_allowance,
)
from datakeeper.features.users.ids import choose_uid
from datakeeper.features.users.layouts import (
    LAYOUTS,
    Layout,
    home_resources,
    layout_of,
    seed_folder,
    ssh_chain_problem,
)
from datakeeper.features.users.names import check_full_name, check_new_username
from datakeeper.features.users.shells import resolve_shell
from datakeeper.i18n import _
from datakeeper.paths import HOME_ROOT
from datakeeper.registry import RegistryDocument, RegistryEntry, load_or_empty
from datakeeper.registry.live import entry_from_system
from datakeeper.resources import Group, GroupMembership, UserAccount
from datakeeper.resources.authorized_keys import AuthorizedKeys
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.password import TemporaryPassword
from datakeeper.resources.private_key import StoredPrivateKey, private_key_id
from datakeeper.resources.registered import Registered, RegisteredGroup
from datakeeper.resources.seed import SeedFile
from datakeeper.system import accounts, logindefs

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig


@dataclass(frozen=True)
class AddRequest:
    """What the admin asked for (flags or prompts)."""

    name: str
    groups: tuple[str, ...] = ()
    shell: str | None = None
    gecos: str = ""
    public_keys: str | None = None  # pasted or read from --ssh-key
    generate_key: str | None = None  # ed25519 | rsa | ecdsa
    print_private_key: bool = False
    temp_password: bool = False
    adopt_home: bool = False
    env_only: bool = False  # the account exists: set up its environment only
    allow_privileged: tuple[str, ...] = ()  # root-equivalent groups allowed by name
    layout: Layout | None = None  # home layout; None: the site's [home] layout


@dataclass
class AddResult:
    name: str
    uid: int
    created: bool
    changes: list[str] = field(default_factory=list)
    temp_password: str | None = None
    private_key_path: str | None = None
    private_key: str | None = None
    fingerprints: list[str] = field(default_factory=list)
    privileged_groups: tuple[str, ...] = ()  # allowed explicitly: the CLI warns
    layout: str = "link"  # the home layout built


@dataclass(frozen=True)
class _Plan:
    uid: int
    shell: str
    groups: tuple[str, ...]
    keys: tuple[str, ...]
    password: str | None
    privileged: tuple[str, ...] = ()
    layout: Layout = "link"


def add_user(
    cfg: SiteConfig,
    request: AddRequest,
    *,
    dry_run: bool,
    on_change: Callable[[Change, str], None] | None = None,
) -> AddResult:
    """Validate everything first, then converge; nothing is written when validation fails.

    A generated key pair is made only once the session is open (the storage
    guard passed); its private half is kept by the last resource of the plan
    (``StoredPrivateKey``), so only when the account converged, and a dry run
    shows it and generates nothing.
    """
    existing = _check_request(cfg, request)
    keys = ssh_keys.validate_public_keys(request.public_keys) if request.public_keys else []
    groups = check_groups(cfg, request.groups)
    plan = _Plan(
        uid=existing.uid if existing else 0,  # a new account's uid is chosen under the lock
        shell=resolve_shell(cfg, request.shell),
        groups=groups,
        keys=tuple(k.line for k in keys),
        password=secrets.token_urlsafe(9) if request.temp_password else None,
        privileged=_check_privileged(cfg, request, groups, existing),
        layout=request.layout or cfg.home.layout,
    )
    result = AddResult(request.name, plan.uid, existing is None, privileged_groups=plan.privileged)
    result.layout = plan.layout
    result.fingerprints = [k.fingerprint for k in keys]
    with change_session(cfg, dry_run=dry_run) as session:
        if existing is None:
            # Under the one-admin lock (on /data, shared by every server mounting it) and
            # from the registry as it is now: two admins on two servers never get one uid.
            uid = choose_uid(cfg, request.name, _registry(cfg), adopt_home=request.adopt_home)
            plan, result.uid = replace(plan, uid=uid), uid
        generated = _generate(request, cfg) if request.generate_key and not dry_run else None
        if generated is not None:
            plan = replace(plan, keys=(*plan.keys, generated.public_key))
        try:
            resources = user_resources(cfg, request, plan, existing is not None)
            resources += _private_key(cfg, request, generated)
            # A run that fails midway undoes what it created, so a second try starts clean.
            outcome = session.converge(
                resources, on_change=on_change, secrets=_secrets(plan), rollback=True
            )
        except BaseException:
            if generated is not None:
                generated.discard()
            raise
    log_privileged(cfg, request.name, plan.privileged, dry_run=dry_run)
    result.changes = [c.summary for c in outcome.planned]
    result.temp_password = plan.password if not dry_run else None
    if generated is not None:
        _hand_over_key(request, generated, outcome, result)
    return result


def _check_request(cfg: SiteConfig, request: AddRequest) -> accounts.UserInfo | None:
    check_new_username(request.name, cfg)
    existing = accounts.user_by_name(request.name)
    if existing is not None and not request.env_only:
        raise ConflictError(
            _(
                "account {name} already exists; pass --env-only to set up its environment "
                "(home link, dotfiles, keys, registry) without touching the account"
            ).format(name=request.name)
        )
    if request.public_keys and request.generate_key:
        raise InvalidInputError(_("ssh key: give --ssh-key or --generate-key, not both"))
    if request.generate_key:
        ssh_keys.check_key_kind(request.generate_key)
    if request.layout is not None and request.layout not in LAYOUTS:
        raise InvalidInputError(
            _("home layout {layout}: pick one of: {layouts}").format(
                layout=request.layout, layouts=", ".join(LAYOUTS)
            )
        )
    check_full_name(request.gecos)
    if (request.layout or cfg.home.layout) == "hybrid":
        problem = ssh_chain_problem(cfg)
        if problem:  # a home nobody could log into with a key: refuse before any change
            raise RefusedError(problem)
    return existing


def check_groups(cfg: SiteConfig, extra: tuple[str, ...]) -> tuple[str, ...]:
    for group in extra:
        if accounts.group_by_name(group) is None:
            raise InvalidInputError(
                _(
                    'group "{group}": does not exist; create it first (groupadd {group}) or '
                    "leave it out"
                ).format(group=group)
            )
    return tuple(sorted({cfg.group, *extra}))


def _check_privileged(
    cfg: SiteConfig,
    request: AddRequest,
    groups: tuple[str, ...],
    existing: accounts.UserInfo | None,
) -> tuple[str, ...]:
    """Root-equivalent groups need ``--allow-privileged-group``; with ``--env-only``
    the groups the account already has are recorded too, so they count."""
    held = accounts.supplementary_groups(request.name) if existing else ()
    return check_privileged_groups(cfg, request.name, {*groups, *held}, request.allow_privileged)


def _registry(cfg: SiteConfig) -> RegistryDocument:
    return load_or_empty(cfg.registry_path)


def _secrets(plan: _Plan) -> list[str]:
    return [plan.password] if plan.password else []


def user_resources(
    cfg: SiteConfig, request: AddRequest, plan: _Plan, exists: bool
) -> list[Resource]:
    """Everything ``user add`` converges, in order."""
    name = request.name
    resources: list[Resource] = []
    if exists:
        resources += [GroupMembership(name, group) for group in plan.groups]
    else:
        resources += [
            Group(name, plan.uid),
            UserAccount(
                name, plan.uid, name, plan.groups, plan.shell, request.gecos, str(HOME_ROOT / name)
            ),
        ]
    if plan.password:
        resources.append(TemporaryPassword(name, plan.password))
    resources += [
        *home_resources(cfg, name, plan.layout, primary_group=_private_group(name)),
        *_dotfiles(cfg, name, plan.layout, plan.shell),
        *_keys(name, seed_folder(cfg, name, plan.layout, ".ssh"), plan.keys),
        *registry_records(cfg, name, plan.groups, plan.privileged, layout=plan.layout),
    ]
    return resources


def _private_group(name: str) -> str:
    user = accounts.user_by_name(name)
    group = accounts.group_by_gid(user.gid) if user else None
    return group.name if group else name


def _dotfiles(cfg: SiteConfig, name: str, layout: Layout, shell: str) -> list[Resource]:
    """Each dotfile, created once where ``/home/NAME/<file>`` reaches it in ``layout``.

    A hybrid home gets only the linked ones: any other would be on the SSD, gone at
    the next reboot, so a recovered home would differ from a new one.
    """
    owner = Ownership(name, _private_group(name), 0o644)
    files = {".hpcrc": hpcrc(cfg), ".condarc": member_condarc(cfg), **rc_files(shell)}
    if layout == "hybrid":
        files = {f: content for f, content in files.items() if f in cfg.home.dotfiles}
    return [
        SeedFile(seed_folder(cfg, name, layout, filename) / filename, content, owner)
        for filename, content in files.items()
    ]


def _keys(name: str, home: Path, keys: tuple[str, ...]) -> list[Resource]:
    if not keys:
        return []
    return [AuthorizedKeys(home, name, _private_group(name), keys)]


def registry_records(
    cfg: SiteConfig,
    name: str,
    groups: tuple[str, ...],
    allowed: tuple[str, ...] = (),
    *,
    layout: Layout | None = None,
) -> list[Resource]:
    """The account, and the site-made groups it belongs to (they vanish with /etc).

    ``allowed`` adds to the privileged groups the registry already allows;
    ``layout`` is the home layout to record (None keeps the recorded one, or
    ``link`` for a new record).
    """
    site_made = [g for g in groups if _gid(g) >= logindefs.uid_min()]
    records: list[Resource] = [RegisteredGroup(g, cfg.registry_path) for g in site_made]

    def describe() -> RegistryEntry:
        kept = {*recorded_allowance(cfg, name), *allowed}
        home = layout or recorded_layout(cfg, name)
        return entry_from_system(name, home_layout=home, privileged_allowed=sorted(kept))

    records.append(Registered(name, cfg.registry_path, describe))
    return records


def recorded_layout(cfg: SiteConfig, name: str) -> Layout:
    """The home layout the registry records for ``name``; for a new record, the one on
    disk (``user register`` of a hybrid home), else ``link``."""
    entry = _registry(cfg).users.get(name)
    if entry is not None:
        return entry.home_layout
    return layout_of(cfg, name) or "link"


def _gid(group: str) -> int:
    info = accounts.group_by_name(group)
    return info.gid if info else 0


def _generate(request: AddRequest, cfg: SiteConfig) -> ssh_keys.GeneratedKey:
    comment = f"{request.name}@datakeeper"
    return ssh_keys.generate_key_pair(request.generate_key, comment, cfg.state_dir)


def _private_key(
    cfg: SiteConfig, request: AddRequest, generated: ssh_keys.GeneratedKey | None
) -> list[Resource]:
    """The generated private key kept for the admin to hand over (unless printed)."""
    if not request.generate_key or request.print_private_key:
        return []
    keys_dir = cfg.state_dir / "keys"
    if generated is None:  # a dry run: no key pair is made
        return [StoredPrivateKey(request.name, request.generate_key, keys_dir)]
    return [
        StoredPrivateKey(
            request.name,
            generated.kind,
            keys_dir,
            generated.private_key_path,
            generated.fingerprint,
        )
    ]


def _hand_over_key(
    request: AddRequest, generated: ssh_keys.GeneratedKey, outcome: Outcome, result: AddResult
) -> None:
    result.fingerprints.append(generated.fingerprint)
    if request.print_private_key:
        result.private_key = generated.private_key_text()
    stored = [c for c in outcome.applied if c.resource == private_key_id(request.name)]
    if stored and stored[0].after is not None:
        result.private_key_path = stored[0].after["path"]
    generated.discard()
