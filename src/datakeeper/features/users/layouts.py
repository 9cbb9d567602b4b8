"""The two home layouts: what each one is on disk, and the resources that make it.

- ``link``: ``/home/NAME`` is a link to the persistent home ``/data/users/NAME``;
  everything in the home survives a reboot.
- ``hybrid``: ``/home/NAME`` is a real directory on the fast SSD, wiped at every
  reboot (caches and scratch: ``~/.cache``, so XDG_CACHE_HOME, pip and uv, stay
  there by design). ``~/data`` links to the persistent home, each dotfile of
  ``[home] dotfiles`` links into ``/data/users/NAME/dotfiles``, and every folder a
  personal variable puts under ``$HOME`` (``~/conda`` for CONDA_ENVS_PATH) links
  to the same folder in the persistent home: nothing of value lives only on the SSD.

Links are absolute and checked by where they lead, relative or not (the original
tool's verify expected relative links while its setup made absolute ones). All
reads here use ``lstat``/``readlink``: a link in a user's home is never followed.

``~/.ssh`` as a link: sshd's StrictModes resolves ``~/.ssh/authorized_keys`` to
``/data/users/NAME/dotfiles/.ssh/authorized_keys`` and, since that is not below
the home it knows (``/home/NAME``), checks every folder up to ``/``: each must be
root's (or the user's) and not group- or other-writable. The dotfiles folder and
``.ssh`` are 0700; the data root, though, is 3775 by default (members may create
folders there), which makes sshd refuse the keys. :func:`ssh_chain_problem` says
so, and ``user add --layout hybrid`` refuses until the admin removes that group
write (``storage.root_mode = "3755"``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from datakeeper.config.rules import HOME_REF_RE
from datakeeper.engine import Resource, state
from datakeeper.i18n import _
from datakeeper.paths import HOME_ROOT
from datakeeper.resources import Symlink
from datakeeper.resources.home import HomeDirectory, HomeMigration
from datakeeper.resources.home_folder import FolderInHome
from datakeeper.resources.home_link import HomeLink

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

Layout = Literal["link", "hybrid"]
LAYOUTS: tuple[Layout, ...] = ("link", "hybrid")
DATA_LINK = "data"  # ~/data -> the persistent home
DOTFILES_FOLDER = "dotfiles"  # in the persistent home
SSH_FOLDER = ".ssh"
PRIVATE = 0o700  # the dotfiles folder and .ssh: keys and tokens live there
GROUP_OTHER_WRITE = 0o022


def ssd_home(name: str) -> Path:
    """``/home/NAME``: the home every login sees (``$HOME``), in both layouts."""
    return HOME_ROOT / name


def persistent_home(cfg: SiteConfig, name: str) -> Path:
    """``/data/users/NAME``: the home on the data disk."""
    return cfg.users_dir / name


def dotfiles_folder(cfg: SiteConfig, name: str) -> Path:
    """Where a hybrid home's dotfiles really are: ``/data/users/NAME/dotfiles``."""
    return persistent_home(cfg, name) / DOTFILES_FOLDER


def kept_folders(cfg: SiteConfig) -> tuple[str, ...]:
    """The first folder below ``$HOME`` of every personal variable (``conda`` for
    ``$HOME/conda/envs``): a hybrid home links each one to the persistent home."""
    found = []
    for value in cfg.env.personal.values():
        rest = HOME_REF_RE.sub("$HOME", value)
        if rest.startswith("$HOME/"):
            first = rest.removeprefix("$HOME/").split("/", 1)[0]
            if first and first not in (".", "..") and first not in found:
                found.append(first)
    return tuple(found)


def hybrid_links(cfg: SiteConfig, name: str) -> dict[str, Path]:
    """Every link of a hybrid home: its name in ``/home/NAME``, and where it leads."""
    persistent = persistent_home(cfg, name)
    links = {DATA_LINK: persistent}
    links.update({folder: persistent / folder for folder in kept_folders(cfg)})
    dotfiles = dotfiles_folder(cfg, name)
    links.update({entry: dotfiles / entry for entry in cfg.home.dotfiles})
    return links


def seed_folder(cfg: SiteConfig, name: str, layout: Layout, filename: str) -> Path:
    """Where ``user add`` writes dotfile ``filename`` (and ``.ssh`` for the keys) so that it
    is reached as ``/home/NAME/<filename>``: the persistent home for ``link``; for
    ``hybrid`` the dotfiles folder when the file is linked, else the SSD home."""
    if layout == "link":
        return persistent_home(cfg, name)
    if filename in cfg.home.dotfiles:
        return dotfiles_folder(cfg, name)
    return ssd_home(name)


def home_resources(
    cfg: SiteConfig, name: str, layout: Layout, *, primary_group: str
) -> list[Resource]:
    """The resources that make NAME's home in ``layout`` on this server, in order.

    Both sides: the persistent home (and, for ``hybrid``, its dotfiles folder,
    ``.ssh`` 0700 and the kept folders) and ``/home/NAME``. ``link`` first
    merges a real ``/home/NAME`` into the persistent home, then links it.
    ``hybrid`` keeps a real ``/home/NAME`` (one left over from before a reboot
    that did not wipe the SSD is kept, not replaced) and makes every link; an
    entry where a link belongs is a conflict, never overwritten. Used by
    ``user add`` and ``recover``; dotfile contents and keys are ``user add``'s.
    """
    persistent = persistent_home(cfg, name)
    resources: list[Resource] = [HomeDirectory(persistent, name, primary_group, cfg.home.mode)]
    if layout == "link":
        ssd = ssd_home(name)
        return [*resources, HomeMigration(ssd, persistent), Symlink(ssd, persistent)]
    return resources + _hybrid_resources(cfg, name, primary_group)


def _hybrid_resources(cfg: SiteConfig, name: str, group: str) -> list[Resource]:
    dotfiles = dotfiles_folder(cfg, name)
    persistent = persistent_home(cfg, name)
    resources: list[Resource] = [HomeDirectory(dotfiles, name, group, PRIVATE)]
    if SSH_FOLDER in cfg.home.dotfiles:
        # sshd's StrictModes: .ssh and every folder up to it not group/other-writable.
        # Made through the dotfiles folder's descriptor: that folder is the user's to swap.
        resources.append(FolderInHome(dotfiles, SSH_FOLDER, name, group, PRIVATE))
    resources += [
        HomeDirectory(persistent / folder, name, group, cfg.home.mode)
        for folder in kept_folders(cfg)
    ]
    ssd = ssd_home(name)
    resources.append(HomeDirectory(ssd, name, group, cfg.home.mode))
    resources += [
        HomeLink(ssd, link, target, name, group) for link, target in hybrid_links(cfg, name).items()
    ]
    return resources


def keys_folder(cfg: SiteConfig, name: str, home: Path) -> Path:
    """The folder whose ``.ssh`` holds NAME's keys: the dotfiles folder when ``~/.ssh``
    leads there (a hybrid home), else ``home``. Key resources refuse a ``.ssh`` that is a
    link, so they are given the real folder, a fixed path never read from the link."""
    if leads_to(ssd_home(name) / SSH_FOLDER, dotfiles_folder(cfg, name) / SSH_FOLDER):
        return dotfiles_folder(cfg, name)
    return home


def layout_of(cfg: SiteConfig, name: str) -> Layout | None:
    """The layout NAME's home has on disk; None when it is neither (missing or broken).

    ``link``: ``/home/NAME`` is a link leading to the persistent home. ``hybrid``:
    it is a real directory and every link of :func:`hybrid_links` leads where it
    should (absolute or relative). Nothing is followed.
    """
    ssd = ssd_home(name)
    info = state.lstat(ssd)
    if info is None:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "link" if leads_to(ssd, persistent_home(cfg, name)) else None
    if stat.S_ISDIR(info.st_mode) and not broken_links(cfg, name):
        return "hybrid"
    return None


def broken_links(cfg: SiteConfig, name: str) -> list[str]:
    """The names in ``/home/NAME`` that a hybrid home lacks or that lead elsewhere."""
    ssd = ssd_home(name)
    return [
        link for link, target in hybrid_links(cfg, name).items() if not leads_to(ssd / link, target)
    ]


def leads_to(link: Path, target: Path) -> bool:
    """``link`` is a symlink whose text names ``target`` (relative to its folder or not);
    the target itself is not looked at, so a planted chain is never followed."""
    text = state.readlink(link)
    if text is None:
        return False
    return os.path.normpath(os.path.join(link.parent, text)) == os.path.normpath(target)


def ssh_chain_problem(cfg: SiteConfig) -> str | None:
    """Why sshd's StrictModes would refuse the keys of a hybrid home (its ``~/.ssh``
    links onto the data disk): the first folder from the users' folder up to ``/``
    that is not root's or that group or others can write. None when keys there are
    accepted, or when ``.ssh`` is not among the linked dotfiles."""
    if SSH_FOLDER not in cfg.home.dotfiles:
        return None
    for folder in (cfg.users_dir, *cfg.users_dir.parents):
        info = state.lstat(folder)
        if info is None:  # not made yet (a dry run of init): setup gives it its mode
            continue
        if info.st_uid != 0 or info.st_mode & GROUP_OTHER_WRITE:
            return _(
                "hybrid homes keep ~/.ssh on the data disk, and sshd's StrictModes refuses "
                "SSH keys below a folder that is not root's or that group or others can "
                "write: {folder} is {mode:04o} (uid {uid}); remove its group write "
                '(storage.root_mode = "3755" for the data root, its [[folders]] mode '
                "otherwise) and run 'datakeeper init', or use --layout link"
            ).format(folder=folder, mode=stat.S_IMODE(info.st_mode), uid=info.st_uid)
    return None
