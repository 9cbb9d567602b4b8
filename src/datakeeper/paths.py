"""Fixed places on the server that several capabilities share, defined once.

Everything else comes from the site config; these are the few paths the
system itself fixes (where logins look for homes, what tmpfs marks a finished
recovery) or that the installer and the boot path must agree on.
"""

from __future__ import annotations

from pathlib import Path

from datakeeper.config_location import DEFAULT_CONFIG_FILE, config_file

# The site config: this file, unless --config or $DATAKEEPER_CONFIG names another.
DEFAULT_CONFIG_PATH = Path(DEFAULT_CONFIG_FILE)

# Where login homes live on the SSD: the home link (or, in the hybrid layout,
# the SSD home) of every managed account.
HOME_ROOT = Path("/home")

# tmpfs marker written when recovery has finished: logins wait for it, and a
# reboot removes it by itself.
DONE_MARKER = Path("/run/datakeeper/recovery-done")

# tmpfs marker written when the last recovery had problems: logins say so.
FAILED_MARKER = Path("/run/datakeeper/recovery-failed")

# pam_nologin(8) refuses every login but root's while this file exists.
NOLOGIN = Path("/run/nologin")

# The persistent install of datakeeper (install.sh), relative to the data
# root; it survives a wipe, so boot units and hooks run this one.
INSTALLED_TOOL = "apps/datakeeper/current/bin/datakeeper"

# Under the state directory: the last recovery's result, and the flag that
# says boot recovery is enabled.
LAST_RECOVERY_NAME = "last-recovery.json"
RECOVERY_FLAG_NAME = "recovery-enabled"


def resolve_config_path(explicit: Path | None) -> Path:
    """The config file to use: ``explicit``, else $DATAKEEPER_CONFIG, else the default."""
    return explicit if explicit is not None else Path(config_file(None))
