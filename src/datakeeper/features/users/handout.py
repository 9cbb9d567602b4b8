"""What the admin hands a new researcher: how to log in and what to know."""

from __future__ import annotations

import shlex
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.i18n import _

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.features.users.add import AddResult


@dataclass(frozen=True)
class Handout:
    """The facts (for --json) and the sentences (``text``, for people) of the handout."""

    name: str
    uid: int
    host: str
    ssh: str  # the login command
    private_key_path: str | None
    private_key: str | None  # only with --print-private-key
    temp_password: str | None
    key_fingerprints: list[str]
    home: str
    persistent_home: str
    changes: list[str]
    text: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (``--json``)."""
        return asdict(self)


def handout(cfg: SiteConfig, result: AddResult, host: str | None = None) -> Handout:
    """What to tell the new user: how to log in, the key, the password, the home."""
    host = host or socket.getfqdn()
    ssh = f"ssh {result.name}@{host}"
    key_file = Path(result.private_key_path).name if result.private_key_path else None
    if key_file:
        ssh = f"ssh -i {key_file} {result.name}@{host}"
    lines = [
        _("Account {name} (uid {uid}) is ready.").format(name=result.name, uid=result.uid),
        _("Log in: {ssh}").format(ssh=ssh),
    ]
    if key_file:
        lines += key_steps(result.private_key_path, result.name, host, cfg.admin or "ADMIN")
    if result.temp_password:
        lines.append(
            _(
                "Temporary password: {pw} ({name} must change it at the first login with passwd)."
            ).format(pw=result.temp_password, name=result.name)
        )
    lines += [
        _home_line(cfg, result),
        _(
            "Sharing: new files get umask {umask:03o} at login, so the group {group} can "
            "write them in the shared caches and models."
        ).format(umask=cfg.home.umask, group=cfg.group),
    ]
    return Handout(
        name=result.name,
        uid=result.uid,
        host=host,
        ssh=ssh,
        private_key_path=result.private_key_path,
        private_key=result.private_key,
        temp_password=result.temp_password,
        key_fingerprints=list(result.fingerprints),
        home=f"/home/{result.name}",
        persistent_home=str(cfg.users_dir / result.name),
        changes=list(result.changes),
        text=lines,
    )


def _home_line(cfg: SiteConfig, result: AddResult) -> str:
    home = cfg.users_dir / result.name
    if result.layout == "hybrid":
        return _(
            "Home: /home/{name} is on the fast system disk and is wiped at every reboot; "
            "~/data links to {home} and the dotfiles to {home}/dotfiles, on the persistent "
            "disk: keep your work under ~/data."
        ).format(name=result.name, home=home)
    return _(
        "Home: /home/{name} is a link to {home}, on the persistent disk; anything "
        "outside it (and /data) is wiped at every reboot."
    ).format(name=result.name, home=home)


def key_steps(key_path: str, name: str, host: str, admin: str) -> list[str]:
    """How the generated private key reaches its owner, with the real file names, and
    leaves the server (it is root-only there, so the admin first copies it out)."""
    key_file = shlex.quote(Path(key_path).name)
    path = shlex.quote(key_path)
    return [
        _("Private key: {path} (root-only). Hand it to {name} over a secure channel:").format(
            path=key_path, name=name
        ),
        _("  1. on the server: sudo install -m 600 -o {admin} {path} ~/{file}").format(
            admin=admin, path=path, file=key_file
        ),
        _(
            "  2. on your computer: scp {admin}@{host}:{file} . && ssh {admin}@{host} rm {file}"
        ).format(admin=admin, host=host, file=key_file),
        _(
            "  3. {name} keeps it private: chmod 600 {file}; then: ssh -i {file} {name}@{host}"
        ).format(name=name, file=key_file, host=host),
        _("  4. delete it from the server: sudo shred -u {path}").format(path=path),
    ]
