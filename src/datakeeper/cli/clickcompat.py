"""Click's exception classes, found through Typer's public API.

Typer 0.12 uses the ``click`` package; newer releases carry their own copy of
Click inside Typer. Importing ``click`` directly would then catch nothing, so
the classes are taken from the ancestry of ``typer.BadParameter`` instead.
"""

from __future__ import annotations

import typer


def _ancestor(name: str) -> type[Exception]:
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise ImportError(f"typer.BadParameter has no ancestor named {name}")


UsageError = _ancestor("UsageError")
ClickException = _ancestor("ClickException")
Abort = typer.Abort
