"""Checks for single config values.

Each check returns the cleaned value or raises :class:`Issue` with a sentence
that says what is allowed. The schema wires them into pydantic; the loader
turns the issues into one-line messages naming the file, key and value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any, TypeGuard

from pydantic import ValidationInfo

from datakeeper.i18n import _

# Validation context the loader passes when the input comes from a TOML file.
TOML_CONTEXT = {"source": "toml"}

NAME_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Names that belong to the OS or that grant privileges; never a site group or admin.
RESERVED_NAMES = frozenset(
    {
        "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news",
        "uucp", "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody",
        "nogroup", "adm", "wheel", "sudo", "shadow", "tty", "disk", "kmem", "staff",
        "users", "sshd", "systemd-network", "systemd-resolve", "messagebus", "docker",
    }
)  # fmt: skip
ENV_NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]*")
DROPIN_RE = re.compile(r"[A-Za-z0-9_-]+")
MODE_RE = re.compile(r"(?:0o)?([0-7]+)")
UMASK_RE = re.compile(r"(?:0o)?([0-7]{3,4})")
# Paths end up inside shell files and command lines: keep them to plain characters.
PATH_CHARS_RE = re.compile(r"[A-Za-z0-9._/@+-]+")
FOLDER_PART_RE = re.compile(r"[A-Za-z0-9._@+-]+")
ALLOWED_REF_RE = re.compile(r"\$\{(?:HOME|USER)\}|\$(?:HOME|USER)(?![A-Za-z0-9_])")
HOME_REF_RE = re.compile(r"\$\{HOME\}|\$HOME(?![A-Za-z0-9_])")
PLACEHOLDER_RE = re.compile(r"(?<!\$)\{([^{}]*)\}")


class Issue(ValueError):
    """One problem with a value: why it is wrong, and optionally where below it.

    ``key`` extends the location pydantic reports (a model-level check names
    the field it blames); ``value`` replaces the input pydantic reports.
    """

    NO_VALUE: Any = object()

    def __init__(self, reason: str, *, key: tuple[str | int, ...] = (), value: Any = NO_VALUE):
        super().__init__(reason)
        self.reason = reason
        self.key = key
        self.value = value


class Issues(ValueError):
    """Several problems found by one check (e.g. every duplicate in a list)."""

    def __init__(self, issues: Sequence[Issue]):
        super().__init__("; ".join(issue.reason for issue in issues))
        self.issues = list(issues)


def raise_all(issues: Sequence[Issue]) -> None:
    """Raise the issues, if any, so pydantic reports every one of them."""
    if issues:
        raise Issues(issues)


def quoted(values: Sequence[object]) -> str:
    """``"a", "b"`` for listing allowed values in a message."""
    return ", ".join(f'"{value}"' for value in values)


def from_toml(info: ValidationInfo | None) -> bool:
    """Whether the value being validated was read from a TOML file."""
    return bool(info and info.context and info.context.get("source") == "toml")


def need_string(value: object) -> str:
    """The value if it is a string, else an issue asking for quotes."""
    if not isinstance(value, str):
        raise Issue(_("must be a string in quotes"))
    return value


def check_name(value: str) -> str:
    """A user or group name: the portable shadow-utils rule, and not a system name."""
    if not NAME_RE.fullmatch(value):
        raise Issue(
            _(
                'must be a lowercase name: a letter or "_", then up to 31 lowercase '
                'letters, digits, "_" or "-", like "gpu-users"'
            )
        )
    if value in RESERVED_NAMES:
        raise Issue(_("is a reserved system name; choose another name"))
    return value


def _int_mode(value: int, info: ValidationInfo) -> int:
    """Python callers pass real ints such as 0o2775; a TOML integer is a decimal mistake."""
    if from_toml(info):
        raise Issue(
            _('must be an octal string in quotes, like "{value}" (a bare number is decimal)')
            .format(value=f"{value:03d}")
        )  # fmt: skip
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_mode(value: object, info: ValidationInfo) -> int:
    """A permission mode from an octal string ("2775" or "0o2775"), as an int."""
    match = MODE_RE.fullmatch(value) if isinstance(value, str) else None
    if _is_int(value):
        mode = _int_mode(value, info)
    elif match is None:
        raise Issue(_('must be an octal mode of digits 0-7, like "2775"'))
    else:
        mode = int(match.group(1), 8)
    if not 0 <= mode <= 0o7777:
        raise Issue(_('must be at most "7777"'))
    return mode


def check_not_world_writable(mode: int) -> int:
    """Directory modes: other users must never be able to write."""
    if mode & 0o002:
        raise Issue(
            _('must not be world-writable (last digit 2, 3, 6 or 7); use "{fixed}"')
            .format(fixed=f"{mode & ~0o002:04o}")
        )  # fmt: skip
    return mode


def parse_umask(value: object, info: ValidationInfo) -> int:
    """A umask from an octal string of 3 or 4 digits ("002"), as an int."""
    match = UMASK_RE.fullmatch(value) if isinstance(value, str) else None
    if _is_int(value):
        umask = _int_mode(value, info)
    elif match is None:
        raise Issue(_('must be an octal string of 3 or 4 digits in quotes, like "002"'))
    else:
        umask = int(match.group(1), 8)
    if not 0 <= umask <= 0o777:
        raise Issue(_('must be at most "0777"'))
    return umask


def normalize_absolute(value: object, example: str) -> Path:
    """An absolute path with "//", "/./" and a trailing "/" removed."""
    if isinstance(value, PurePath):
        value = str(value)
    text = need_string(value)
    if not text.startswith("/"):
        raise Issue(_('must be an absolute path, like "{example}"').format(example=example))
    if not PATH_CHARS_RE.fullmatch(text):
        raise Issue(_('may only contain letters, digits, "/", ".", "_", "-", "+" and "@"'))
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise Issue(_('must not contain ".."; write the path it leads to'))
    if not parts:
        raise Issue(_('must not be "/" itself, like "{example}"').format(example=example))
    return Path("/" + "/".join(parts))


def absolute_path(example: str) -> Callable[[object], Path]:
    """A before-validator for an absolute path field, with an example for the message."""
    return lambda value: normalize_absolute(value, example)


def optional_absolute_path(example: str) -> Callable[[object], Path | None]:
    """Like :func:`absolute_path`, where "" means "none"."""
    return lambda value: None if value in ("", None) else normalize_absolute(value, example)


def check_folder_path(value: str) -> str:
    """A folder below data_root: relative, normalized, plain characters."""
    if value.startswith("/"):
        raise Issue(_('must be relative to data_root, like "models/torch" (no leading "/")'))
    trimmed = value.rstrip("/")
    parts = trimmed.split("/")
    if not trimmed:
        raise Issue(_('must not be empty; name a folder below data_root, like "models"'))
    if ".." in parts:
        raise Issue(_('must not contain ".."'))
    if "" in parts or "." in parts:
        raise Issue(_('must be normalized, with no empty or "." parts, like "models/torch"'))
    if not all(FOLDER_PART_RE.fullmatch(part) for part in parts):
        raise Issue(_('may only contain letters, digits, "/", ".", "_", "-", "+" and "@"'))
    return trimmed


def check_dropin_name(value: str) -> str:
    """A sudoers drop-in file name that sudo will actually read."""
    if not DROPIN_RE.fullmatch(value):
        raise Issue(
            _(
                'may only contain letters, digits, "_" and "-" (sudo ignores drop-in '
                'files whose name contains "." or ends with "~"), like "datakeeper"'
            )
        )
    return value


def choice(allowed: Sequence[str]) -> Callable[[object], str]:
    """A before-validator accepting exactly one of ``allowed``."""

    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise Issue(_("must be one of {allowed}").format(allowed=quoted(allowed)))
        return value

    return check


def unique_items(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """An after-validator rejecting repeated list items, each blamed at its index."""
    issues = [
        Issue(_("is listed twice; remove the repeat"), key=(index,), value=value)
        for index, value in enumerate(values)
        if value in values[:index]
    ]
    raise_all(issues)
    return values


def int_range(low: int, high: int) -> Callable[[int], int]:
    """An after-validator for an integer between ``low`` and ``high`` (inclusive).

    Every numeric setting has an upper bound too: a huge value is a typo, and
    some overflow where they are used (a day count as a ``timedelta``).
    """

    def check(value: int) -> int:
        if not low <= value <= high:
            raise Issue(_("must be an integer from {low} to {high}").format(low=low, high=high))
        return value

    return check


def as_tuple(value: object) -> object:
    """TOML arrays arrive as lists; frozen models store tuples."""
    return tuple(value) if isinstance(value, list) else value


def env_name_issue(name: str) -> Issue | None:
    """The problem with an environment variable name, if any."""
    if ENV_NAME_RE.fullmatch(name):
        return None
    return Issue(
        _('is not a valid variable name: use A-Z, 0-9 and "_", not starting with a digit'),
        key=(name,),
    )


def env_value_reason(value: str, *, shared: bool) -> str | None:
    """Why a value cannot go inside double quotes in a shell profile file, if it cannot."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        return _("must be one line of text, without control characters")
    if any(char in value for char in '"\\`'):
        return _('must not contain ", \\ or ` (it is written inside double quotes in a shell file)')
    if "$(" in value:
        return _('must not contain "$(" (command substitution)')
    if "$" in ALLOWED_REF_RE.sub("", value):
        return _('may use "$" only for $HOME and $USER')
    for name in PLACEHOLDER_RE.findall(value):
        if name != "data_root":
            return _(
                'has unknown placeholder "{{{name}}}"; the only one is "{{data_root}}"'
            ).format(name=name)
    if shared and HOME_REF_RE.search(value):
        return _("must not use $HOME: shared values are the same for everyone; use [env.personal]")
    return None
