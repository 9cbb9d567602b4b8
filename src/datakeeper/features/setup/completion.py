"""Tab completion of ``datakeeper`` for everyone, in bash and zsh (part of the ENV step).

The scripts only ask ``datakeeper`` itself what to complete (Click's protocol, as
Typer speaks it: ``_DATAKEEPER_COMPLETE=complete_bash`` or ``complete_zsh``), so
they never go stale when commands change. They live on the SSD, where bash and
zsh look for them, and come back with every recovery like the other ENV files.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.resources import Directory, ManagedFile
from datakeeper.resources.ownership import Ownership

if TYPE_CHECKING:
    from datakeeper.engine import Resource
    from datakeeper.managed import OwnedFilesManifest

BASH_SCRIPT = Path("/etc/bash_completion.d/datakeeper")  # read by bash-completion
ZSH_FUNCTION = Path("/usr/local/share/zsh/site-functions/_datakeeper")  # on zsh's fpath

BASH = """\
# Written by datakeeper (the ENV step of init and recover); changes are overwritten.
_datakeeper_completion() {
    local IFS=$'\\n'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD \\
                   _DATAKEEPER_COMPLETE=complete_bash datakeeper 2>/dev/null ) )
    return 0
}
complete -o default -F _datakeeper_completion datakeeper
"""

# An autoloaded completion function: zsh runs this body on every Tab.
ZSH = """\
#compdef datakeeper
# Written by datakeeper (the ENV step of init and recover); changes are overwritten.
eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" \\
    _DATAKEEPER_COMPLETE=complete_zsh datakeeper 2>/dev/null)
"""


def completion_resources(manifest: OwnedFilesManifest) -> list[Resource]:
    """The bash script (where bash-completion is installed: it reads the folder) and the
    zsh function (where zsh is installed), root's and readable by everyone."""
    readable = Ownership("root", "root", 0o644)
    resources: list[Resource] = []
    if BASH_SCRIPT.parent.is_dir():
        resources.append(
            ManagedFile(BASH_SCRIPT, BASH.encode(), readable, manifest, replace_unmanaged=True)
        )
    if shutil.which("zsh"):
        resources += _missing_folders(ZSH_FUNCTION.parent)
        resources.append(
            ManagedFile(ZSH_FUNCTION, ZSH.encode(), readable, manifest, replace_unmanaged=True)
        )
    return resources


def _missing_folders(folder: Path) -> list[Resource]:
    """Directories to create down to ``folder``; existing ones are left as they are
    (``/usr/local/share`` is the distribution's)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    return [Directory(p, Ownership("root", "root", 0o755)) for p in reversed(missing)]
