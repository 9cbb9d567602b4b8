"""Pick the output language before the command modules load.

Help texts are translated when their modules are imported, so the language
must be known first: ``--lang`` from the raw arguments, the locale variables
(read by ``datakeeper.i18n``), and the site config's top-level ``language``
key. The config is only scanned here, not parsed and validated (that costs
pydantic, too slow for ``--help``); ``config validate`` reports a bad value.
Nothing here can fail: an unreadable config or an unknown value means English.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from datakeeper import i18n
from datakeeper.config_location import config_file

LANG_OPTION = "--lang"
CONFIG_OPTION = "--config"
_SCAN_LIMIT = 256 * 1024  # a site config is a few kB; never read a huge file whole
_LANGUAGE_KEY = re.compile(r"""^\s*language\s*=\s*["']([A-Za-z_-]+)["']\s*(#.*)?$""")


def choose_language(argv: Sequence[str]) -> None:
    """Set the site default and any ``--lang`` found in ``argv`` into ``datakeeper.i18n``."""
    i18n.set_site_default(_known(site_language(_config_path(argv))))
    i18n.set_language(_known(option_value(argv, LANG_OPTION)))


def option_value(argv: Sequence[str], option: str) -> str | None:
    """The value of ``option`` (``--opt V`` or ``--opt=V``) before any ``--``; the last wins."""
    value = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == option and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(option + "="):
            value = arg.split("=", 1)[1]
    return value


def site_language(path: str) -> str | None:
    """The top-level ``language = "…"`` of the TOML file at ``path``, if it has one."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(_SCAN_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.lstrip().startswith("["):
            return None  # keys after a table header belong to that table
        match = _LANGUAGE_KEY.match(line)
        if match:
            return match.group(1)
    return None


def _config_path(argv: Sequence[str]) -> str:
    return config_file(option_value(argv, CONFIG_OPTION) or None)


def _known(code: str | None) -> str | None:
    return code if code in i18n.LANGUAGES else None
