"""The site config: schema, loading, validation messages and rendering.

Importing this package imports pydantic (slow): front ends import it inside
command functions, not at module level.
"""

from __future__ import annotations

from datakeeper.config.loader import (
    check_config,
    config_file_missing,
    config_to_dict,
    load_config,
    parse_config,
    render_config,
)
from datakeeper.config.schema import (
    AlertConfig,
    CacheConfig,
    EnvConfig,
    FolderSpec,
    HomeConfig,
    RecoveryConfig,
    SiteConfig,
    StorageConfig,
    SudoConfig,
)
from datakeeper.config_location import CONFIG_ENV_VAR
from datakeeper.paths import DEFAULT_CONFIG_PATH, resolve_config_path

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATH",
    "AlertConfig",
    "CacheConfig",
    "EnvConfig",
    "FolderSpec",
    "HomeConfig",
    "RecoveryConfig",
    "SiteConfig",
    "StorageConfig",
    "SudoConfig",
    "check_config",
    "config_file_missing",
    "config_to_dict",
    "load_config",
    "parse_config",
    "render_config",
    "resolve_config_path",
]
