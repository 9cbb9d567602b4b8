"""Where the site config is: ``--config``, else ``$DATAKEEPER_CONFIG``, else the default.

Standard library only, and no ``pathlib`` (which loads ``urllib``): the command
line reads the config's language from here before anything heavier loads
(``cli/language.py``). ``datakeeper.paths`` gives the same answer as a ``Path``.
"""

from __future__ import annotations

import os

DEFAULT_CONFIG_FILE = "/data/config/datakeeper.toml"
CONFIG_ENV_VAR = "DATAKEEPER_CONFIG"


def config_file(explicit: str | None) -> str:
    """The config file to use: ``explicit``, else $DATAKEEPER_CONFIG, else the default."""
    if explicit is not None:
        return explicit
    return os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_FILE
