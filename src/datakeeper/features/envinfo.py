"""``datakeeper env``: what a researcher's session looks like, and what is wrong with it.

Everything here only reads, as the calling user: who they are, their groups,
their umask against the site's, where their home really lives (a home on the
SSD is wiped at reboot), the site's variables with whether each path exists
and is writable for them, conda and uv, and the room left on each storage root.
"""

from __future__ import annotations

import grp
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.features.disk.usage import RootUsage, root_usage
from datakeeper.features.users.layouts import (
    DATA_LINK,
    dotfiles_folder,
    kept_folders,
    layout_of,
    persistent_home,
    ssh_chain_problem,
)
from datakeeper.i18n import _
from datakeeper.system import accounts

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

STATUS_PATH = Path("/proc/self/status")
_HOME_VAR = re.compile(r"\$\{HOME\}|\$HOME\b")


@dataclass(frozen=True)
class Variable:
    """One site variable: the value the site wants, the one this session has, and its path."""

    name: str
    scope: str  # "shared" or "personal"
    expected: str
    actual: str | None
    exists: bool
    writable: bool  # the path, or the nearest folder above it that exists (it can be created)

    @property
    def set_right(self) -> bool:
        return self.actual == self.expected


@dataclass
class EnvInfo:
    """The session of the user running ``datakeeper env``."""

    user: str
    uid: int
    groups: list[str]
    site_group: str
    member: bool
    umask: int | None
    wanted_umask: int
    home: str
    home_real: str
    home_on_storage: bool
    variables: list[Variable]
    tools: dict[str, str | None]
    disks: list[RootUsage]
    warnings: list[str] = field(default_factory=list)
    home_layout: str | None = None  # "link", "hybrid", or None (neither, or not managed)
    layout_notes: list[str] = field(default_factory=list)  # what is kept, what is wiped

    @property
    def umask_ok(self) -> bool | None:
        """Right for a group member; None when the site has no wish (not a member, unknown)."""
        if not self.member or self.umask is None:
            return None
        return self.umask == self.wanted_umask

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["umask"] = None if self.umask is None else f"{self.umask:03o}"
        data["wanted_umask"] = f"{self.wanted_umask:03o}"
        data["umask_ok"] = self.umask_ok
        data["variables"] = [{**asdict(v), "set_right": v.set_right} for v in self.variables]
        data["disks"] = [d.as_dict() for d in self.disks]
        return data


def current_umask(status_path: Path = STATUS_PATH) -> int | None:
    """This process's umask, read without changing it (Linux >= 4.7 shows it in status)."""
    try:
        for line in status_path.read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        return None
    return None


def group_names(uid: int, gid: int) -> list[str]:
    """The names of this process's groups (primary first), as ``id -Gn`` shows them."""
    ids = [gid, *(g for g in os.getgroups() if g != gid)] if uid == os.getuid() else [gid]
    names = []
    for group_id in ids:
        try:
            names.append(grp.getgrgid(group_id).gr_name)
        except KeyError:
            names.append(str(group_id))
    return names


def expand_home(value: str, home: str) -> str:
    """``$HOME`` and ``${HOME}`` replaced by ``home``, the way the login profile expands them."""
    return _HOME_VAR.sub(lambda _match: home, value)


def writable_for_me(path: Path) -> bool:
    """Can I write ``path``, or create it (the nearest existing folder above it is writable)?"""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return os.access(probe, os.W_OK)


def site_variables(cfg: SiteConfig, home: str, environ: dict[str, str]) -> list[Variable]:
    """Each shared and personal variable of the config, checked against ``environ``."""
    shared, personal = cfg.resolved_env()
    found = []
    for scope, table in (("shared", shared), ("personal", personal)):
        for name, value in sorted(table.items()):
            expected = expand_home(value, home)
            path = Path(expected)
            exists = path.exists()
            found.append(
                Variable(name, scope, expected, environ.get(name), exists, writable_for_me(path))
            )
    return found


def home_location(home: str, roots: list[Path]) -> tuple[str, bool]:
    """Where the home really is (symlinks resolved), and whether that is on a storage root."""
    real = Path(os.path.realpath(home))
    return str(real), any(real == r or r in real.parents for r in roots)


def gather(cfg: SiteConfig, environ: dict[str, str] | None = None) -> EnvInfo:
    """Look at the calling user's session."""
    environ = dict(os.environ if environ is None else environ)
    uid, gid = os.getuid(), os.getgid()
    me = accounts.user_by_uid(uid)
    name = me.name if me else str(uid)
    home = me.home if me else environ.get("HOME", "/")
    groups = group_names(uid, gid)
    real, on_storage = home_location(home, cfg.storage_roots)
    info = EnvInfo(
        user=name,
        uid=uid,
        groups=groups,
        site_group=cfg.group,
        member=cfg.group in groups or cfg.group in accounts.supplementary_groups(name),
        umask=current_umask(),
        wanted_umask=cfg.home.umask,
        home=home,
        home_real=real,
        home_on_storage=on_storage,
        variables=site_variables(cfg, home, environ),
        tools=tools(cfg),
        disks=[root_usage(root) for root in cfg.storage_roots],
        home_layout=layout_of(cfg, name) if me else None,
    )
    info.layout_notes = layout_notes(cfg, info)
    info.warnings = warnings(info, cfg)
    return info


def layout_notes(cfg: SiteConfig, info: EnvInfo) -> list[str]:
    """For a hybrid home: what survives a reboot and what does not (nothing for ``link``)."""
    if info.home_layout != "hybrid":
        return []
    links = [f"~/{DATA_LINK} ({persistent_home(cfg, info.user)})"]
    links += [f"~/{folder}" for folder in kept_folders(cfg)]
    return [
        _(
            "Your home {home} is a hybrid home: it is on the fast system disk, which is wiped "
            "at every reboot, and rebuilt with its links before anyone can log in."
        ).format(home=info.home),
        _(
            "Kept on the data disk: {links}, and your dotfiles ({dotfiles}), kept in {folder}."
        ).format(
            links=", ".join(links),
            dotfiles=", ".join(cfg.home.dotfiles),
            folder=dotfiles_folder(cfg, info.user),
        ),
        _(
            "Not kept: everything else in your home, including ~/.cache, where "
            "XDG_CACHE_HOME, pip and uv keep their caches (fast, and filled again when "
            "needed). Put your work under ~/{data}."
        ).format(data=DATA_LINK),
    ]


def tools(cfg: SiteConfig) -> dict[str, str | None]:
    """Where ``conda`` and ``uv`` are found on PATH, else in the shared installs, else None."""
    found: dict[str, str | None] = {}
    for tool, prefix in (("conda", cfg.conda_prefix), ("uv", cfg.uv_prefix)):
        shared = prefix / "bin" / tool
        found[tool] = shutil.which(tool) or (str(shared) if shared.exists() else None)
    return found


def warnings(info: EnvInfo, cfg: SiteConfig) -> list[str]:
    """One sentence with the fix for each thing that is not as the site wants it."""
    found = []
    if info.umask_ok is False:
        found.append(
            _(
                "Your umask is {have:03o} but members of {group} should have {want:03o}, or the "
                "files you put in shared folders cannot be changed by the others; open a new "
                "login shell, or run 'umask {want:03o}'."
            ).format(have=info.umask, want=info.wanted_umask, group=info.site_group)
        )
    if info.member and info.site_group not in info.groups:
        found.append(
            _(
                "You are in the group {group}, but this session started before you were added; "
                "log out and in again."
            ).format(group=info.site_group)
        )
    if not info.member:
        found.append(
            _("You are not in the group {group}; ask the admin to add you.").format(
                group=info.site_group
            )
        )
    if not info.home_on_storage and not _hybrid(info, cfg):
        found.append(
            _(
                "Your home {home} is on the system disk, which is wiped at every reboot; "
                "keep your work under {root} and ask the admin to move your home there."
            ).format(home=info.home_real, root=cfg.storage.data_root)
        )
    if info.home_layout == "hybrid" and (problem := ssh_chain_problem(cfg)):
        found.append(_("SSH key logins into your home will be refused: {why}").format(why=problem))
    found += _variable_warnings(info.variables)
    return found


def _hybrid(info: EnvInfo, cfg: SiteConfig) -> bool:
    """A home on the SSD is the hybrid layout's design, not a mistake."""
    if info.home_layout is not None:
        return info.home_layout == "hybrid"
    return cfg.home.layout == "hybrid"


def _variable_warnings(variables: list[Variable]) -> list[str]:
    found = []
    for var in variables:
        if var.actual is None:
            found.append(
                _(
                    "{name} is not set in this session; the site sets it to {expected}. "
                    "Log in again: the login shell sets it."
                ).format(name=var.name, expected=var.expected)
            )
        elif not var.set_right:
            found.append(
                _(
                    "{name} is {actual} in this session, but the site sets it to {expected}; "
                    "remove the line that changes it from your shell files and log in again."
                ).format(name=var.name, actual=var.actual, expected=var.expected)
            )
        if var.scope == "shared" and var.exists and not var.writable:
            found.append(
                _("{path} ({name}) is not writable for you; ask the admin to check it.").format(
                    path=var.expected, name=var.name
                )
            )
    return found
