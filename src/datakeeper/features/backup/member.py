"""A member's ``backup restore`` and ``backup browse``: through the sudo helper.

Snapshots are root's alone, so a member asks the helper
(``sudo -n datakeeper-helper backup-restore`` or ``backup-browse``, exact
commands in the drop-in) and sends the request on stdin: the snapshot, the
path relative to their home, the flags (``helper/restore.py``). The helper
takes the caller from sudo, never from the request, and checks everything
again; this side only turns the member's path into one relative to their home.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.errors import CommandError, InvalidInputError
from datakeeper.helper.walk import EXIT_USAGE
from datakeeper.i18n import _, current_language

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

TIMEOUT = 3600  # a large folder takes a while; sudo itself answers at once


@dataclass(frozen=True)
class MemberRequest:
    """What a member asked: a path in their home, a snapshot (or the newest), flags."""

    path: Path | None
    snapshot: str | None = None
    in_place: bool = False
    overwrite: bool = False
    dry_run: bool = False

    def encode(self, relative: str) -> bytes:
        """``SNAPSHOT\\0PATH\\0FLAGS``, the helper's request on stdin."""
        flags = [f for f, on in (("in-place", self.in_place), ("overwrite", self.overwrite),
                                 ("dry-run", self.dry_run)) if on]  # fmt: skip
        fields = [(self.snapshot or "").encode(), os.fsencode(relative), " ".join(flags).encode()]
        return b"\0".join(fields)


def home_relative(cfg: SiteConfig, path: Path | None) -> str:
    """``path`` relative to the caller's home (its login path, the folder on the data
    disk, or where either leads); ``InvalidInputError`` for anything outside."""
    if path is None:
        return ""
    account = pwd.getpwuid(os.getuid())
    live = cfg.storage.data_root / cfg.home.users_folder / account.pw_name
    homes = {account.pw_dir, str(live), os.path.realpath(account.pw_dir)}
    text = os.path.abspath(path)
    for home in sorted(homes, key=len, reverse=True):
        home = home.rstrip("/")
        if text == home:
            return ""
        if text.startswith(home + "/"):
            return text[len(home) + 1 :]
    raise InvalidInputError(
        _("{path} is not in your home ({home}): you can restore only your own files").format(
            path=path, home=account.pw_dir
        )
    )


def ask_helper(cfg: SiteConfig, command: str, request: MemberRequest) -> str:
    """Run the helper's ``command`` (``backup-restore`` or ``backup-browse``); what it
    printed. ``InvalidInputError`` for a refusal, ``CommandError`` for a failure."""
    body = request.encode(home_relative(cfg, request.path))
    argv = ["sudo", "-n", str(cfg.sudo.helper_path), command]
    try:
        # The helper answers in our language (--lang, the locale or the site's);
        # sudo keeps LANGUAGE.
        env = {**os.environ, "LANGUAGE": current_language()}
        result = subprocess.run(
            argv, input=body, capture_output=True, env=env, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CommandError(str(error)) from None
    out, err = (os.fsdecode(result.stdout), os.fsdecode(result.stderr).strip())
    if result.returncode == 0:
        return out
    if "password is required" in err or "may not run sudo" in err:
        raise CommandError(
            _("sudo did not allow the helper: are you in the site group, and has the admin run "
              "datakeeper init (the sudo policy)?")
        )  # fmt: skip
    why = err.splitlines()[-1] if err else _("exit code {rc}").format(rc=result.returncode)
    why = why.removeprefix("datakeeper-helper: ")
    raise (InvalidInputError if result.returncode == EXIT_USAGE else CommandError)(why)
