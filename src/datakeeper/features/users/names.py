"""Validate account names ourselves: Debian's useradd accepts ``a;id``, ``..`` and ``Alice``."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from datakeeper.config.rules import RESERVED_NAMES
from datakeeper.errors import InvalidInputError
from datakeeper.i18n import _
from datakeeper.system import accounts, logindefs

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

NAME_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
MAX_LENGTH = 32
MAX_FULL_NAME = 100
# ":" ends the passwd field; "," and "=" separate or tag GECOS sub-fields (chfn
# refuses them in a full name too).
FULL_NAME_FORBIDDEN = frozenset(":,=")


def check_username_syntax(name: str) -> None:
    """Raise one line naming the problem when ``name`` is not a safe account name."""
    shown = name.encode("unicode_escape").decode("ascii")
    if not name:
        raise InvalidInputError(_("user name: empty; use lowercase letters, digits, _ and -"))
    if len(name) > MAX_LENGTH:
        raise InvalidInputError(
            _('user name "{name}": {n} characters, at most {max} allowed').format(
                name=shown[:40] + "…", n=len(name), max=MAX_LENGTH
            )
        )
    if not NAME_RE.fullmatch(name):
        raise InvalidInputError(
            _(
                'user name "{name}": use lowercase letters, digits, "_" and "-", starting with a '
                'letter or "_" (e.g. "alice", "kim_j")'
            ).format(name=shown)
        )


def check_new_username(name: str, cfg: SiteConfig) -> None:
    """Syntax, then names that must never become a researcher's account."""
    check_username_syntax(name)
    if name in RESERVED_NAMES:
        raise InvalidInputError(
            _('user name "{name}": reserved for the system; choose another name').format(name=name)
        )
    if name == cfg.group:
        raise InvalidInputError(
            _('user name "{name}": that is the site group; choose another name').format(name=name)
        )
    existing = accounts.user_by_name(name)
    if existing is not None and existing.uid < logindefs.uid_min():
        raise InvalidInputError(
            _(
                'user name "{name}": a system account (uid {uid}) already has it; '
                "choose another name"
            ).format(name=name, uid=existing.uid)
        )
    group = accounts.group_by_name(name)
    if existing is None and group is not None:
        raise InvalidInputError(
            _(
                'user name "{name}": a group of that name exists (gid {gid}); the account\'s '
                "private group would clash; choose another name"
            ).format(name=name, gid=group.gid)
        )


def check_full_name(full_name: str) -> None:
    """Refuse a GECOS full name ``useradd`` or a terminal would choke on, before any change.

    Control and format characters (ESC, BEL, newlines, bidi overrides) would
    reach the admin's terminal in ``user list``; ":" "," "=" break the field.
    """
    shown = full_name.encode("unicode_escape").decode("ascii")
    if len(full_name) > MAX_FULL_NAME:
        raise InvalidInputError(
            _("full name: {n} characters, at most {max} allowed").format(
                n=len(full_name), max=MAX_FULL_NAME
            )
        )
    bad = [c for c in full_name if c in FULL_NAME_FORBIDDEN or _is_control(c)]
    if bad:
        raise InvalidInputError(
            _(
                'full name "{name}": must not contain control characters, ":", "," or "="; '
                'use letters, spaces and punctuation such as "." or "-"'
            ).format(name=shown[:60])
        )


def _is_control(char: str) -> bool:
    # Cc: C0/C1 controls; Cf: format (bidi overrides); Cs: lone surrogates from bad UTF-8.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs")
