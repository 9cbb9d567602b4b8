"""The sections of the site config as frozen pydantic models.

Every model forbids unknown keys, so a typo at any level is an error, and is
strict, so ``acl = "yes"`` is an error rather than a guess. Modes are ints in
Python and octal strings in TOML and JSON.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from datakeeper.config import rules
from datakeeper.config.defaults import (
    DEFAULT_CONDA_PREFIX,
    DEFAULT_DATA_ROOT,
    DEFAULT_DOTFILES,
    DEFAULT_DOWNLOAD_TIMEOUT_SECONDS,
    DEFAULT_MINICONDA_SHA256,
    DEFAULT_MINICONDA_URL,
    DEFAULT_PERSONAL_ENV,
    DEFAULT_SHARED_ENV,
    DEFAULT_UV_PREFIX,
    DEFAULT_UV_REQUIREMENT,
)
from datakeeper.config.rules import Issue
from datakeeper.i18n import _

Name = Annotated[str, AfterValidator(rules.check_name)]
Mode = Annotated[
    int,
    BeforeValidator(rules.parse_mode),
    PlainSerializer(lambda mode: f"{mode:04o}", return_type=str, when_used="json"),
]
DirMode = Annotated[Mode, AfterValidator(rules.check_not_world_writable)]
Umask = Annotated[
    int,
    BeforeValidator(rules.parse_umask),
    PlainSerializer(lambda umask: f"{umask:03o}", return_type=str, when_used="json"),
]
FolderPath = Annotated[str, AfterValidator(rules.check_folder_path)]
EnvTable = dict[str, str]

SUDO_ACTIONS: tuple[str, ...] = ("cache-clean", "disk-usage", "backup-restore")
CACHE_KINDS: tuple[str, ...] = ("conda", "pip", "uv", "torch", "huggingface")
SHELLS: tuple[str, ...] = ("bash", "zsh", "fish", "sh", "dash", "ksh", "tcsh")
MAX_MIN_AGE_DAYS = 3650


def _choice(*allowed: str) -> Any:
    """A string that must be one of ``allowed`` (our message, not pydantic's)."""
    return Annotated[str, BeforeValidator(rules.choice(allowed))]


def _unique_items(item: Any) -> Any:
    """A TOML array stored as a tuple, without repeats."""
    return Annotated[
        tuple[item, ...], BeforeValidator(rules.as_tuple), AfterValidator(rules.unique_items)
    ]


def _path(example: str) -> Any:
    return BeforeValidator(rules.absolute_path(example))


Owner = _choice("root", "admin")
Layout = _choice("link", "hybrid")
Language = _choice("en", "ko")
Interval = _choice("hourly", "daily")
Shell = _choice(*SHELLS)
Shells = _unique_items(Shell)
SudoActions = _unique_items(_choice(*SUDO_ACTIONS))
DOTFILE_RE = re.compile(r"[A-Za-z0-9._@+-]+")
# Names the hybrid layout links itself (to the persistent home and its folders).
RESERVED_HOME_NAMES = frozenset({"data", "conda"})


def _check_dotfile(value: str) -> str:
    """One entry of ``[home] dotfiles``: a plain name in the home, never a path."""
    if "/" in value or value in ("", ".", ".."):
        raise Issue(_('must be a plain name in the home, like ".bashrc" (no "/", not "..")'))
    if not DOTFILE_RE.fullmatch(value):
        raise Issue(_('may only contain letters, digits, ".", "_", "-", "+" and "@"'))
    if value in RESERVED_HOME_NAMES:
        raise Issue(_("is a link the hybrid layout makes itself; remove it from the list"))
    return value


Dotfiles = _unique_items(Annotated[str, AfterValidator(_check_dotfile)])
CacheKinds = _unique_items(_choice(*CACHE_KINDS))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class StorageConfig(_Model):
    """The persistent roots: work data, and backups (None when there is none)."""

    data_root: Annotated[Path, _path("/data")] = DEFAULT_DATA_ROOT
    backup_root: Annotated[
        Path | None, BeforeValidator(rules.optional_absolute_path("/backup"))
    ] = Path("/backup")
    root_mode: DirMode = 0o3775

    @model_validator(mode="after")
    def _roots_apart(self) -> StorageConfig:
        backup, data = self.backup_root, self.data_root
        if backup is None:
            return self
        if backup == data or backup.is_relative_to(data):
            reason = _('must not be inside storage.data_root "{data}"; use a separate disk')
        elif data.is_relative_to(backup):
            reason = _('must not contain storage.data_root "{data}"; use a separate disk')
        else:
            return self
        raise Issue(reason.format(data=data), key=("backup_root",), value=backup)


class FolderSpec(_Model):
    """One folder below data_root; ``owner`` "admin" means the site admin account."""

    path: FolderPath
    mode: DirMode = 0o3775
    owner: Owner = "admin"


class EnvConfig(_Model):
    """Variables exported by the login profile: shared (one value) and personal."""

    shared: EnvTable = Field(default_factory=lambda: dict(DEFAULT_SHARED_ENV))
    personal: EnvTable = Field(default_factory=lambda: dict(DEFAULT_PERSONAL_ENV))

    @field_validator("shared", "personal")
    @classmethod
    def _check_table(cls, table: EnvTable, info: ValidationInfo) -> EnvTable:
        shared = info.field_name == "shared"
        issues = [issue for name in table if (issue := rules.env_name_issue(name))]
        for name, value in table.items():
            reason = rules.env_value_reason(value, shared=shared)
            if reason:
                issues.append(Issue(reason, key=(name,), value=value))
        rules.raise_all(issues)
        return table


class HomeConfig(_Model):
    """Where homes live and what a new account gets."""

    layout: Layout = "link"
    # Hybrid layout: kept in /data/users/NAME/dotfiles, linked into the SSD home.
    dotfiles: Dotfiles = DEFAULT_DOTFILES
    users_folder: FolderPath = "users"
    mode: DirMode = 0o750
    default_shell: Shell = "bash"
    allowed_shells: Shells = ("bash", "zsh")
    umask: Umask = 0o002

    @model_validator(mode="after")
    def _default_shell_allowed(self) -> HomeConfig:
        if self.default_shell not in self.allowed_shells:
            raise Issue(
                _("must be one of home.allowed_shells ({allowed}); add it there or pick one")
                .format(allowed=rules.quoted(self.allowed_shells)),
                key=("default_shell",),
                value=self.default_shell,
            )  # fmt: skip
        return self


class SudoConfig(_Model):
    """What group members may run as root without a password."""

    enabled: bool = True
    dropin_name: Annotated[str, AfterValidator(rules.check_dropin_name)] = "datakeeper"
    helper_path: Annotated[Path, _path("/usr/local/sbin/datakeeper-helper")] = Path(
        "/usr/local/sbin/datakeeper-helper"
    )
    allow: SudoActions = SUDO_ACTIONS


class CacheConfig(_Model):
    """Which caches the cleaner handles, and how old an entry must be."""

    kinds: CacheKinds = CACHE_KINDS
    # Ten years: older cache entries are not worth a floor, and a bigger day count
    # overflows the age arithmetic.
    min_age_days: Annotated[int, AfterValidator(rules.int_range(0, MAX_MIN_AGE_DAYS))] = 0


class AlertConfig(_Model):
    """Disk alert: when to warn, what to call, how often to look."""

    threshold_percent: Annotated[int, AfterValidator(rules.int_range(1, 99))] = 80
    hook: Annotated[
        Path | None,
        BeforeValidator(rules.optional_absolute_path("/usr/local/sbin/disk-alert")),
    ] = None
    interval: Interval = "hourly"


class RecoveryConfig(_Model):
    """Boot recovery: how long a login waits for it to finish."""

    login_wait_seconds: Annotated[int, AfterValidator(rules.int_range(0, 600))] = 30


SHA256_RE = re.compile(r"[0-9a-f]{64}")
REQUIREMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.<>=!,~ ]*")
URL_FORBIDDEN_RE = re.compile(r"[\s\x00-\x1f\x7f\"'\\]")


def _check_url(value: str) -> str:
    """An http(s) URL of one file, without spaces or quotes."""
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        valid = False
    if not valid or URL_FORBIDDEN_RE.search(value):
        raise Issue(
            _('must be an http:// or https:// URL without spaces, like "{example}"').format(
                example="https://repo.anaconda.com/miniconda/NAME.sh"
            )
        )
    return value


def _check_sha256(value: str) -> str:
    """64 lowercase hex digits, or "" (only allowed while the section is disabled)."""
    if value and not SHA256_RE.fullmatch(value):
        raise Issue(_("must be exactly 64 lowercase hexadecimal digits (0-9, a-f)"))
    return value


def _check_requirement(value: str) -> str:
    """A pip requirement such as "uv>=0.4,<1": no URLs, options, markers or extras."""
    if not REQUIREMENT_RE.fullmatch(value):
        raise Issue(
            _(
                'must be a pip requirement like "uv>=0.4,<1": a name, then only letters, '
                'digits, ".", "<", ">", "=", "!", ",", "~" and spaces'
            )
        )
    return value


class CondaConfig(_Model):
    """The shared Miniconda: where the installer comes from and where it goes."""

    enabled: bool = True
    installer_url: Annotated[str, AfterValidator(_check_url)] = DEFAULT_MINICONDA_URL
    installer_sha256: Annotated[str, AfterValidator(_check_sha256)] = DEFAULT_MINICONDA_SHA256
    prefix: FolderPath = DEFAULT_CONDA_PREFIX
    download_timeout_seconds: Annotated[int, AfterValidator(rules.int_range(1, 3600))] = (
        DEFAULT_DOWNLOAD_TIMEOUT_SECONDS
    )

    @model_validator(mode="after")
    def _hash_when_enabled(self) -> CondaConfig:
        if self.enabled and not self.installer_sha256:
            raise Issue(
                _(
                    "is required while conda.enabled is true: set it to the SHA-256 "
                    "published next to the installer"
                ),
                key=("installer_sha256",),
                value="",
            )
        return self


class UvConfig(_Model):
    """uv for everyone: a pip requirement installed into its own environment."""

    enabled: bool = True
    requirement: Annotated[str, AfterValidator(_check_requirement)] = DEFAULT_UV_REQUIREMENT
    prefix: FolderPath = DEFAULT_UV_PREFIX
