"""The site config: the whole file as one frozen model, with checks across sections.

The defaults reproduce the original system. The section models live in
``sections.py`` and are re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from datakeeper.config import rules
from datakeeper.config.backup import BackupConfig
from datakeeper.config.cluster import ClusterConfig
from datakeeper.config.defaults import (
    DEFAULT_CONDA_PREFIX,
    DEFAULT_DATA_ROOT,
    DEFAULT_FOLDER_ROWS,
    DEFAULT_UV_PREFIX,
    STATE_SUBDIR,
)
from datakeeper.config.gpu import GpuConfig
from datakeeper.config.rules import Issue
from datakeeper.config.sections import (
    AlertConfig,
    CacheConfig,
    CondaConfig,
    EnvConfig,
    FolderSpec,
    HomeConfig,
    Language,
    Name,
    RecoveryConfig,
    StorageConfig,
    SudoConfig,
    UvConfig,
    _Model,
)
from datakeeper.i18n import _

__all__ = [
    "AlertConfig",
    "BackupConfig",
    "CacheConfig",
    "CondaConfig",
    "EnvConfig",
    "FolderSpec",
    "GpuConfig",
    "HomeConfig",
    "RecoveryConfig",
    "SiteConfig",
    "StorageConfig",
    "SudoConfig",
    "UvConfig",
]

DEFAULT_FOLDERS = tuple(
    FolderSpec(path=path, mode=mode, owner=owner) for path, mode, owner in DEFAULT_FOLDER_ROWS
)
Folders = Annotated[tuple[FolderSpec, ...], BeforeValidator(rules.as_tuple)]
StateDir = Annotated[
    Path, BeforeValidator(rules.absolute_path(str(DEFAULT_DATA_ROOT / STATE_SUBDIR)))
]


HYBRID_ROOT_MODE = "3755"  # the data root's default when homes are hybrid (see below)


class SiteConfig(_Model):
    """The site config, every value filled in (``state_dir`` is derived when not given)."""

    group: Name = "gpu-users"
    admin: Name | None = None
    # What logins whose locale names no language (LANG unset, C or POSIX) read.
    language: Language = "en"
    state_dir: StateDir = DEFAULT_DATA_ROOT / STATE_SUBDIR
    acl: bool = False
    storage: StorageConfig = Field(default_factory=StorageConfig)
    folders: Folders = DEFAULT_FOLDERS
    env: EnvConfig = Field(default_factory=EnvConfig)
    home: HomeConfig = Field(default_factory=HomeConfig)
    sudo: SudoConfig = Field(default_factory=SudoConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    alert: AlertConfig = Field(default_factory=AlertConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    recovery: RecoveryConfig = Field(default_factory=RecoveryConfig)
    conda: CondaConfig = Field(default_factory=CondaConfig)
    uv: UvConfig = Field(default_factory=UvConfig)
    gpu: GpuConfig = Field(default_factory=GpuConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)

    @model_validator(mode="before")
    @classmethod
    def _derive_state_dir(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("state_dir") is None:
            root = _given_data_root(data.get("storage"))
            if root is not None:
                data = {**data, "state_dir": root / STATE_SUBDIR}
        return data

    @model_validator(mode="before")
    @classmethod
    def _hybrid_root_mode(cls, data: Any) -> Any:
        """A site whose homes are hybrid by default gets a data root without group write
        (3755) unless the admin chose a mode: sshd's StrictModes refuses the keys a
        hybrid home keeps under /data/users/NAME/dotfiles/.ssh below a group-writable
        folder (see features/users/layouts.ssh_chain_problem)."""
        if not isinstance(data, dict):
            return data
        home, storage = data.get("home"), data.get("storage")
        hybrid = isinstance(home, dict) and home.get("layout") == "hybrid"
        if hybrid and (
            storage is None or (isinstance(storage, dict) and "root_mode" not in storage)
        ):
            data = {**data, "storage": {**(storage or {}), "root_mode": HYBRID_ROOT_MODE}}
        return data

    @field_validator("folders", mode="after")
    @classmethod
    def _check_folder_tree(cls, folders: tuple[FolderSpec, ...]) -> tuple[FolderSpec, ...]:
        rules.raise_all(_folder_tree_issues(folders))
        return folders

    @model_validator(mode="after")
    def _check_across_sections(self, info: ValidationInfo) -> SiteConfig:
        # The loader re-validates without the sections that already failed
        # ("skip") so that these checks still report on the rest.
        skip = frozenset(info.context.get("skip", ())) if info.context else frozenset()
        rules.raise_all(_cross_section_issues(self, skip))
        return self

    @property
    def registry_path(self) -> Path:
        """The managed accounts (root-only JSON)."""
        return self.state_dir / "registry.json"

    @property
    def action_log_path(self) -> Path:
        """The log of every change datakeeper made."""
        return self.state_dir / "actions.log"

    @property
    def managed_files_path(self) -> Path:
        """The files datakeeper wrote, so it never replaces one it did not create."""
        return self.state_dir / "managed-files.json"

    @property
    def storage_roots(self) -> list[Path]:
        """The persistent roots in the config: data_root, then backup_root if any."""
        roots = [self.storage.data_root]
        if self.storage.backup_root is not None:
            roots.append(self.storage.backup_root)
        return roots

    @property
    def users_dir(self) -> Path:
        """The folder holding each user's persistent home."""
        return self.storage.data_root / self.home.users_folder

    @property
    def conda_prefix(self) -> Path:
        """Where the shared Miniconda is installed (absolute)."""
        return self.storage.data_root / self.conda.prefix

    @property
    def uv_prefix(self) -> Path:
        """The virtual environment holding uv for everyone (absolute)."""
        return self.storage.data_root / self.uv.prefix

    def folders_parents_first(self) -> list[FolderSpec]:
        """The folders sorted so that every parent comes before its children."""
        return sorted(self.folders, key=lambda folder: folder.path.count("/"))

    def resolved_env(self) -> tuple[dict[str, str], dict[str, str]]:
        """(shared, personal) variables with ``{data_root}`` expanded."""
        root = str(self.storage.data_root)

        def expand(table: dict[str, str]) -> dict[str, str]:
            return {name: value.replace("{data_root}", root) for name, value in table.items()}

        return expand(self.env.shared), expand(self.env.personal)


def _given_data_root(storage: object) -> Path | None:
    """data_root as given (or defaulted), or None when it is invalid."""
    if isinstance(storage, StorageConfig):
        return storage.data_root
    if storage is None:
        return DEFAULT_DATA_ROOT
    if isinstance(storage, dict):
        try:
            return rules.normalize_absolute(storage.get("data_root", DEFAULT_DATA_ROOT), "/data")
        except Issue:
            return None
    return None


def _folder_tree_issues(folders: tuple[FolderSpec, ...]) -> list[Issue]:
    """Repeated folders, and folders whose parent folder is not listed."""
    issues: list[Issue] = []
    first_index: dict[str, int] = {}
    for index, folder in enumerate(folders):
        key, path = (index, "path"), folder.path
        parent = path.rpartition("/")[0]
        if path in first_index:
            reason = _('repeats folders[{other}] (a trailing "/" does not count); remove one')
            issues.append(Issue(reason.format(other=first_index[path]), key=key, value=path))
        elif parent and not any(other.path == parent for other in folders):
            reason = _('needs its parent listed too: add a [[folders]] entry with path = "{p}"')
            issues.append(Issue(reason.format(p=parent), key=key, value=path))
        first_index.setdefault(path, index)
    return issues


def _cross_section_issues(cfg: SiteConfig, skip: frozenset[str]) -> list[Issue]:
    """Checks that need two sections; a check is skipped when a section it needs failed."""
    issues: list[Issue] = []
    data = cfg.storage.data_root
    state_dir = cfg.state_dir
    if not skip & {"state_dir", "storage"} and not _strictly_inside(state_dir, data):
        reason = _('must be inside storage.data_root "{data}", like "{example}"')
        reason = reason.format(data=data, example=data / STATE_SUBDIR)
        issues.append(Issue(reason, key=("state_dir",), value=state_dir))
    if not skip & {"sudo", "storage"}:
        issues.extend(_helper_path_issues(cfg))
    users = cfg.home.users_folder
    if not skip & {"home", "folders"} and users not in {f.path for f in cfg.folders}:
        reason = _(
            'must be one of the [[folders]] paths; add a [[folders]] entry with path = "{p}"'
        )
        issues.append(Issue(reason.format(p=users), key=("home", "users_folder"), value=users))
    issues.extend(_software_prefix_issues(cfg, skip))
    return issues


def _strictly_inside(path: Path, root: Path) -> bool:
    return path != root and path.is_relative_to(root)


def _helper_path_issues(cfg: SiteConfig) -> list[Issue]:
    """The sudo helper stays off storage, where the admin and members make folders."""
    helper = cfg.sudo.helper_path
    for root in cfg.storage_roots:
        if helper.is_relative_to(root):
            reason = _(
                'must not be inside "{root}": members run the helper as root, so it stays '
                "off storage where the admin and members make folders; use a path that is "
                'root\'s all the way up, like "{example}"'
            )
            example = "/usr/local/sbin/datakeeper-helper"
            reason = reason.format(root=root, example=example)
            return [Issue(reason, key=("sudo", "helper_path"), value=helper)]
    return []


def _software_prefix_issues(cfg: SiteConfig, skip: frozenset[str]) -> list[Issue]:
    """Where enabled software goes: root runs it, so only root may write above it."""
    issues: list[Issue] = []
    wanted = [
        (name, section.prefix, example)
        for name, section, example in (
            ("conda", cfg.conda, DEFAULT_CONDA_PREFIX),
            ("uv", cfg.uv, DEFAULT_UV_PREFIX),
        )
        if section.enabled and name not in skip
    ]
    if "folders" not in skip:
        for name, prefix, example in wanted:
            issue = _prefix_folder_issue(prefix, example, cfg.folders)
            if issue is not None:
                issues.append(Issue(issue, key=(name, "prefix"), value=prefix))
    if len(wanted) == 2 and _overlap(wanted[0][1], wanted[1][1]):
        reason = _('must not overlap conda.prefix "{other}"; use a separate folder, like "{ex}"')
        reason = reason.format(other=wanted[0][1], ex=DEFAULT_UV_PREFIX)
        issues.append(Issue(reason, key=("uv", "prefix"), value=wanted[1][1]))
    return issues


def _prefix_folder_issue(prefix: str, example: str, folders: tuple[FolderSpec, ...]) -> str | None:
    """Why ``prefix`` cannot hold software root runs, judged by the [[folders]] list."""
    if any(folder.path == prefix or _inside(folder.path, prefix) for folder in folders):
        return _(
            "must not be one of the [[folders]] paths or contain one (the installer "
            'creates it); use a new folder below one, like "{ex}"'
        ).format(ex=example)
    for folder in folders:
        if _inside(prefix, folder.path) and folder.owner != "root":
            return _(
                'must not be inside "{folder}", a folder owned by "{owner}": root runs what '
                'is installed there; use a folder owned by "root", like "{ex}"'
            ).format(folder=folder.path, owner=folder.owner, ex=example)
    return None


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder + "/")


def _overlap(one: str, other: str) -> bool:
    return one == other or _inside(one, other) or _inside(other, one)
