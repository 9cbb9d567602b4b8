"""What the admin hands a new researcher: how to log in and what to know."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.features.users.add import AddResult


def handout(cfg: SiteConfig, result: AddResult, host: str | None = None) -> dict[str, Any]:
    """The facts (for --json) and the sentences (for people) of the handout."""
    host = host or socket.getfqdn()
    ssh = f"ssh {result.name}@{host}"
    if result.private_key_path:
        ssh = f"ssh -i {result.name}_key {result.name}@{host}"
    lines = [
        _("Account {name} (uid {uid}) is ready.").format(name=result.name, uid=result.uid),
        _("Log in: {ssh}").format(ssh=ssh),
    ]
    if result.private_key_path:
        lines.append(
            _(
                "Private key: {path} (root-only). Give it to {name} over a secure channel, "
                "then delete it from the server."
            ).format(path=result.private_key_path, name=result.name)
        )
    if result.temp_password:
        lines.append(
            _(
                "Temporary password: {pw} ({name} must change it at the first login with passwd)."
            ).format(pw=result.temp_password, name=result.name)
        )
    lines += [
        _(
            "Home: /home/{name} is a link to {home}, on the persistent disk; anything "
            "outside it (and /data) is wiped at every reboot."
        ).format(name=result.name, home=cfg.users_dir / result.name),
        _(
            "Sharing: new files get umask {umask:03o} at login, so the group {group} can "
            "write them in the shared caches and models."
        ).format(umask=cfg.home.umask, group=cfg.group),
    ]
    return {
        "name": result.name,
        "uid": result.uid,
        "host": host,
        "ssh": ssh,
        "private_key_path": result.private_key_path,
        "private_key": result.private_key,
        "temp_password": result.temp_password,
        "key_fingerprints": result.fingerprints,
        "home": f"/home/{result.name}",
        "persistent_home": str(cfg.users_dir / result.name),
        "changes": result.changes,
        "text": lines,
    }
