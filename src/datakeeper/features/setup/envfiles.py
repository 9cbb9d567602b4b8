"""The text of the environment files: global_envs.sh and the conda configs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

HEADER = "# Managed by datakeeper (datakeeper config show); edits here are overwritten.\n"


def global_envs_script(cfg: SiteConfig) -> bytes:
    """``/etc/profile.d/global_envs.sh``: shared caches, personal dirs, the group's umask."""
    shared, personal = cfg.resolved_env()
    lines = [HEADER, "# Shared on persistent storage:\n"]
    lines += [f'export {name}="{value}"\n' for name, value in sorted(shared.items())]
    if personal:
        lines.append("# Personal, under each user's home:\n")
        lines += [f'export {name}="{value}"\n' for name, value in sorted(personal.items())]
    lines += [
        f"# Members of {cfg.group} share folders: their new files are group-writable.\n",
        'case " $(id -Gn 2>/dev/null) " in\n',
        f'  *" {cfg.group} "*) umask {cfg.home.umask:03o} ;;\n',
        "esac\n",
    ]
    return "".join(lines).encode()


def condarc(cfg: SiteConfig) -> bytes:
    """A ``.condarc``: the shared package cache and personal environments."""
    shared, personal = cfg.resolved_env()
    lines = [HEADER]
    if "CONDA_PKGS_DIRS" in shared:
        lines += ["pkgs_dirs:\n", f"  - {shared['CONDA_PKGS_DIRS']}\n"]
    if "CONDA_ENVS_PATH" in personal:
        envs = personal["CONDA_ENVS_PATH"].replace("${HOME}", "~").replace("$HOME", "~")
        lines += ["envs_dirs:\n", f"  - {envs}\n"]
    return "".join(lines).encode()
