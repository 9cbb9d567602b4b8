"""The text of the environment files: global_envs.sh and the conda configs.

Shared caches are writable by every member of the group, so what is found
there is only as trustworthy as the least careful member (docs/trust-model.md).
Root and accounts outside the group therefore never get them: the shared
variables and the group umask are exported to members only, and the system-wide
``/etc/conda/.condarc`` (read by every conda, root's included) names no shared
package cache. Members get ``pkgs_dirs`` from their own ``~/.condarc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

HEADER = "# Managed by datakeeper (datakeeper config show); edits here are overwritten.\n"
SEED_HEADER = "# Created once by datakeeper for a member of the group; it is yours to edit.\n"


def global_envs_script(cfg: SiteConfig) -> bytes:
    """``/etc/profile.d/global_envs.sh``: personal dirs for all, shared caches for members."""
    shared, personal = cfg.resolved_env()
    lines = [HEADER]
    if personal:
        lines.append("# Personal, under each user's home:\n")
        lines += [f'export {name}="{value}"\n' for name, value in sorted(personal.items())]
    lines += [
        f"# Members of {cfg.group} (never root) share caches on persistent storage, and\n",
        "# their new files are group-writable. Root and other accounts get neither:\n",
        "# they must not load code or weights from folders that members can write.\n",
        'if [ "$(id -u 2>/dev/null)" != 0 ]; then\n',
        '  case " $(id -Gn 2>/dev/null) " in\n',
        f'    *" {cfg.group} "*)\n',
    ]
    lines += [f'      export {name}="{value}"\n' for name, value in sorted(shared.items())]
    lines += _private_token_path(shared, personal)
    lines += [f"      umask {cfg.home.umask:03o}\n", "      ;;\n", "  esac\n", "fi\n"]
    return "".join(lines).encode()


def _private_token_path(shared: dict[str, str], personal: dict[str, str]) -> list[str]:
    """huggingface_hub keeps the login token in ``$HF_HOME/token`` unless
    ``HF_TOKEN_PATH`` says otherwise: with a shared ``HF_HOME`` every member could
    read (and replace) another's token, so it goes to the member's home instead."""
    if "HF_HOME" not in shared or "HF_TOKEN_PATH" in shared or "HF_TOKEN_PATH" in personal:
        return []
    return [
        "      # The HuggingFace login token stays private, out of the shared HF_HOME.\n",
        '      export HF_TOKEN_PATH="$HOME/.cache/huggingface/token"\n',
    ]


def system_condarc(cfg: SiteConfig) -> bytes:
    """``/etc/conda/.condarc``, read by every conda: personal environments, no shared cache."""
    return (HEADER + _envs_dirs(cfg)).encode()


def member_condarc(cfg: SiteConfig) -> bytes:
    """A member's ``~/.condarc``: the shared package cache and personal environments."""
    shared, _personal = cfg.resolved_env()
    text = SEED_HEADER
    if "CONDA_PKGS_DIRS" in shared:
        text += f"pkgs_dirs:\n  - {shared['CONDA_PKGS_DIRS']}\n"
    return (text + _envs_dirs(cfg)).encode()


def _envs_dirs(cfg: SiteConfig) -> str:
    _shared, personal = cfg.resolved_env()
    if "CONDA_ENVS_PATH" not in personal:
        return ""
    envs = personal["CONDA_ENVS_PATH"].replace("${HOME}", "~").replace("$HOME", "~")
    return f"envs_dirs:\n  - {envs}\n"
