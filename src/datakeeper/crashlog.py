"""Where an unexpected error's details go, so that no screen ends in a traceback.

The CLI and the menu show one line naming the error and this file; the file has
the traceback a maintainer needs. Root's go to ``/var/log/datakeeper`` (root-only;
on the SSD, so a broken /data cannot stop the report being written), anyone
else's to their own cache folder. Every file is created 0600: a traceback shows
paths and values that are nobody else's business.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT_LOG_DIR = Path("/var/log/datakeeper")


def crash_dir() -> Path:
    """Root's log folder, or ``$XDG_CACHE_HOME/datakeeper`` (``~/.cache/datakeeper``)."""
    if os.geteuid() == 0:
        return ROOT_LOG_DIR
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "datakeeper"


def write_crash_log(error: BaseException, *, argv: list[str] | None = None) -> Path | None:
    """Write ``error``'s traceback to a new private file; its path, or None when no
    folder would take it (the caller still prints the one-line message)."""
    text = _report(error, sys.argv if argv is None else argv)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for folder in (crash_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f"crash-{stamp}-", suffix=".log", dir=folder)
            with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as log:
                log.write(text)
            return Path(name)
        except OSError:
            continue  # a full or read-only disk: try the next folder
    return None


def one_line(error: BaseException) -> str:
    """``TypeName: message`` on one line, for the message a person reads."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def report_unexpected(error: BaseException, *, argv: list[str] | None = None) -> str:
    """Log ``error``'s details and return the one line a person reads about it."""
    # Imported here: the sudo-free menu and the CLI share this; i18n is light.
    from datakeeper.i18n import _

    log = write_crash_log(error, argv=argv)
    where = _("details in {path}").format(path=log) if log else _("no log could be written")
    return _("unexpected error: {error}; {where}").format(error=one_line(error), where=where)


def _report(error: BaseException, argv: list[str]) -> str:
    from datakeeper import __version__

    lines = [
        f"datakeeper {__version__}, python {sys.version.split()[0]}",
        f"command: {' '.join(argv)}",
        f"uid: {os.geteuid()}",
        "",
        *traceback.format_exception(type(error), error, error.__traceback__),
    ]
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"
