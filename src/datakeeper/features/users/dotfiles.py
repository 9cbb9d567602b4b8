"""The dotfiles a new researcher gets: ``.hpcrc`` and shell rc files that source it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.features.login_language import Gettext, comment_lines
from datakeeper.i18n import N_

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

SKEL = Path("/etc/skel")
# First in the file: bash reads ~/.bashrc for commands run through ssh too
# (non-interactive), and Debian's .bashrc returns early in that case.
SOURCE_HPCRC = (
    "# datakeeper: shared-server settings (umask, shared caches)\n[ -f ~/.hpcrc ] && . ~/.hpcrc\n"
)

# The comments of ~/.hpcrc, translated into the site's language when it is written.
HPCRC_ABOUT = N_("Settings for the shared GPU server, sourced by your shell's rc file.")
HPCRC_YOURS = N_("Created once by datakeeper; it is yours to edit.")
HPCRC_ZSH = N_("zsh does not read /etc/profile.d: load the shared variables here too.")


def hpcrc(cfg: SiteConfig, languages: Mapping[str, Gettext] | None = None) -> bytes:
    """``~/.hpcrc``: the group umask, the global environment for every shell, aliases.

    Its comments are in the site's language (``cfg.language``), not the language of
    the admin who adds the user, with the English line beside a translated one
    (``languages``: code -> gettext, the catalogs by default)."""

    def comment(message: str) -> list[str]:
        return comment_lines(message, cfg.language, languages)

    text = "\n".join(
        [
            *comment(HPCRC_ABOUT),
            *comment(HPCRC_YOURS),
            f"umask {cfg.home.umask:03o}",
            *comment(HPCRC_ZSH),
            "[ -r /etc/profile.d/global_envs.sh ] && . /etc/profile.d/global_envs.sh",
            '[ -z "$CONDA_EXE" ] && [ -r /etc/profile.d/conda.sh ] && . /etc/profile.d/conda.sh',
            "alias dkenv='datakeeper env'",
            "alias dkdisk='datakeeper disk'",
            "alias gpus='nvidia-smi'",
            "",
        ]
    )
    return text.encode()


def rc_files(shell: str) -> dict[str, bytes]:
    """Dotfiles to create (when missing) for ``shell``: skeleton files plus the hpcrc hook.

    zsh reads ``~/.zshenv`` in every shell, interactive or not; bash reads
    ``~/.bashrc`` for interactive shells and for commands run over ssh.
    """
    files = {path.name: path.read_bytes() for path in _skeleton_files()}
    rc = ".zshenv" if shell.endswith("zsh") else ".bashrc"
    files[rc] = SOURCE_HPCRC.encode() + files.get(rc, b"")
    return files


def _skeleton_files() -> list[Path]:
    try:
        return sorted(p for p in SKEL.iterdir() if p.is_file() and not p.is_symlink())
    except FileNotFoundError:
        return []
