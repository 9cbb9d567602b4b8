"""The dotfiles a new researcher gets: ``.hpcrc`` and shell rc files that source it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

SKEL = Path("/etc/skel")
# First in the file: bash reads ~/.bashrc for commands run through ssh too
# (non-interactive), and Debian's .bashrc returns early in that case.
SOURCE_HPCRC = (
    "# datakeeper: shared-server settings (umask, shared caches)\n[ -f ~/.hpcrc ] && . ~/.hpcrc\n"
)


def hpcrc(cfg: SiteConfig) -> bytes:
    """``~/.hpcrc``: the group umask, the global environment for every shell, aliases."""
    text = "\n".join(
        [
            "# " + _("Settings for the shared GPU server, sourced by your shell's rc file."),
            "# " + _("Created once by datakeeper; it is yours to edit."),
            f"umask {cfg.home.umask:03o}",
            "# " + _("zsh does not read /etc/profile.d: load the shared variables here too."),
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
