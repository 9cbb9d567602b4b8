"""The cloud image an admin prepares with boot recovery on, for systemd boots after a
full wipe: datakeeper's unit files and their enable links, taken from a server where
``datakeeper recovery enable`` ran, as ``DisposableServer`` image files."""

from __future__ import annotations

import os

from tests.support.sandbox import DisposableServer

UNIT_DIR = "/etc/systemd/system"


def prepared_image(server: DisposableServer, extra: dict | None = None) -> dict[str, dict]:
    """``{path: {"content"} | {"link"}}`` of every ``datakeeper-*`` unit file and enable
    link under /etc/systemd/system of ``server``, plus ``extra`` (an fstab, rc.local)."""
    base = server.path(UNIT_DIR)
    image: dict[str, dict] = {}
    for path in sorted(base.rglob("datakeeper-*")):
        inside = f"{UNIT_DIR}/{path.relative_to(base)}"
        if path.is_symlink():
            image[inside] = {"link": os.readlink(path)}
        else:
            image[inside] = {"content": path.read_text(), "mode": 0o644}
    return {**image, **(extra or {})}
