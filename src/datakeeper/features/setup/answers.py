"""The four answers of the initial setup: what ``init`` asks, and its defaults.

Both front ends use them: ``datakeeper init`` (flags, then prompts) and the
menu's setup form (its fields filled in with the same defaults).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from datakeeper.features.setup.config_file import NO_BACKUP, Answers

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from datakeeper.i18n import _

FIELDS = ("group", "admin", "data_root", "backup_root")  # in the order they are asked
NONE_WORD = "none"  # what the admin types for "no backup root"
DEFAULT_BACKUP = Path("/backup")

# ``ask(question, default)`` returns what the admin typed (the default when nothing).
Ask = Callable[[str, str], str]


def questions() -> dict[str, str]:
    """What ``init`` asks for each answer, by field."""
    return {
        "group": _("Shared group"),
        "admin": _("Admin account"),
        "data_root": _("Data root (persistent disk)"),
        "backup_root": _("Backup root ('none' for no backup)"),
    }


def default_answers() -> Answers:
    """A new config's answers: group gpu-users, the admin who ran sudo, /data, and /backup
    when it exists (no backup root otherwise)."""
    return Answers(
        group="gpu-users",
        admin=os.environ.get("SUDO_USER") or None,
        data_root="/data",
        backup_root=str(DEFAULT_BACKUP) if DEFAULT_BACKUP.is_dir() else NO_BACKUP,
    )


def no_backup_word(value: str | None) -> str | None:
    """ "none" (any case) means no backup root; any other value stays as it is."""
    return NO_BACKUP if value is not None and value.lower() == NONE_WORD else value


def resolve_answers(path: Path, given: Answers, ask: Ask | None = None) -> Answers:
    """Given values first; then ``ask``; then the defaults.

    For an existing config None keeps what the file says, so only what the file
    lacks and has no default of its own (the admin, in a config written by hand)
    is asked or defaulted; for a new config every answer is.
    """
    given = replace(given, backup_root=no_backup_word(given.backup_root))
    if path.exists():
        return _complete(given, _unset_in_file(path), ask)
    return _complete(given, FIELDS, ask)


def _complete(given: Answers, keys: tuple[str, ...], ask: Ask | None) -> Answers:
    """``given`` with each of ``keys`` that is None asked (when ``ask``) or defaulted."""
    defaults, wording = default_answers(), questions()
    values = {key: getattr(given, key) for key in FIELDS}
    for key in keys:
        value = getattr(given, key)
        if value is None and ask is not None:
            value = ask(wording[key], getattr(defaults, key) or "")
            value = no_backup_word(value) if key == "backup_root" else value
        values[key] = value if value is not None else getattr(defaults, key)
    return Answers(**values)


def _unset_in_file(path: Path) -> tuple[str, ...]:
    """The answers an existing config has no value for and no default of its own.

    Only the admin: the schema fills in the group and the storage roots. A file
    that cannot be read is left to the config loader, which says why in one line.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ()
    return () if data.get("admin") else ("admin",)
