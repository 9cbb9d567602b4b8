"""The site config: defaults, round trip, and one exact message per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from datakeeper.config import (
    DEFAULT_CONFIG_PATH,
    SiteConfig,
    check_config,
    config_to_dict,
    load_config,
    parse_config,
    render_config,
    resolve_config_path,
)
from datakeeper.errors import ConfigError, ExitCode

SOURCE = "/etc/x.toml"
USERS = '[[folders]]\npath = "users"\n'

ORIGINAL_FOLDERS = [
    ("users", 0o2755, "root"),
    ("models", 0o3775, "admin"),
    ("models/huggingface", 0o3775, "admin"),
    ("models/huggingface/hub", 0o3775, "admin"),
    ("models/huggingface/datasets", 0o3775, "admin"),
    ("models/torch", 0o3775, "admin"),
    ("models/comfyui", 0o3775, "admin"),
    ("models/flux", 0o3775, "admin"),
    ("cache", 0o3775, "admin"),
    ("cache/conda", 0o3775, "admin"),
    ("cache/conda/pkgs", 0o3775, "admin"),
    ("apps", 0o2755, "root"),
    ("config", 0o2755, "root"),
    ("dataset", 0o3775, "admin"),
    ("code", 0o3775, "admin"),
]

CUSTOM = """
group = "lab"
admin = "alice"
acl = true

[storage]
data_root = "/srv/data/"
backup_root = ""
root_mode = "0o2775"

[[folders]]
path = "homes"
mode = "2750"
owner = "root"

[[folders]]
path = "shared/models"

[[folders]]
path = "shared"

[env.shared]
HF_HOME = "{data_root}/shared/models"
[env.personal]
PIP_CACHE_DIR = "${HOME}/.cache/pip-$USER"

[home]
layout = "hybrid"
users_folder = "homes"
default_shell = "zsh"
allowed_shells = ["zsh", "fish"]
umask = "0027"

[sudo]
enabled = false
allow = []

[alert]
hook = "/usr/local/sbin/disk-alert"
interval = "daily"
"""


def test_defaults_reproduce_the_original_layout() -> None:
    config = SiteConfig()
    assert config.group == "gpu-users"
    assert config.admin is None
    assert [(f.path, f.mode, f.owner) for f in config.folders] == ORIGINAL_FOLDERS
    assert config.storage.data_root == Path("/data")
    assert config.storage.backup_root == Path("/backup")
    assert config.storage.root_mode == 0o3775
    assert config.state_dir == Path("/data/config/datakeeper")
    assert config.registry_path == Path("/data/config/datakeeper/registry.json")
    assert config.action_log_path == Path("/data/config/datakeeper/actions.log")
    assert config.managed_files_path == Path("/data/config/datakeeper/managed-files.json")
    assert config.storage_roots == [Path("/data"), Path("/backup")]
    assert (config.home.mode, config.home.umask) == (0o750, 0o002)
    assert config.sudo.allow == ("cache-clean", "disk-usage", "backup-restore")
    assert config.alert.hook is None
    assert config.recovery.login_wait_seconds == 30


def test_default_env_matches_the_original_profile() -> None:
    shared, personal = SiteConfig().resolved_env()
    assert shared == {
        "HF_HOME": "/data/models/huggingface",
        "HF_HUB_CACHE": "/data/models/huggingface/hub",
        "HF_DATASETS_CACHE": "/data/models/huggingface/datasets",
        "TORCH_HOME": "/data/models/torch",
        "COMFYUI_HOME": "/data/models/comfyui",
        "FLUX_HOME": "/data/models/flux",
        "CONDA_PKGS_DIRS": "/data/cache/conda/pkgs",
    }
    assert personal == {"CONDA_ENVS_PATH": "$HOME/conda/envs"}


def test_empty_file_means_all_defaults() -> None:
    assert parse_config("", SOURCE) == SiteConfig()


@pytest.mark.parametrize("text", ["", CUSTOM], ids=["defaults", "custom"])
def test_render_parses_back_to_an_equal_config(text: str) -> None:
    config = parse_config(text, SOURCE)
    rendered = render_config(config)
    assert parse_config(rendered, "rendered") == config
    assert render_config(parse_config(rendered, "rendered")) == rendered


def test_render_writes_every_effective_value() -> None:
    rendered = render_config(SiteConfig())
    for line in (
        'state_dir = "/data/config/datakeeper"',
        'root_mode = "3775"',
        'mode = "0750"',
        'umask = "002"',
        'hook = ""',
        "login_wait_seconds = 30",
    ):
        assert line in rendered.splitlines()


def test_custom_values_are_normalized_and_derived() -> None:
    config = parse_config(CUSTOM, SOURCE)
    assert config.storage.data_root == Path("/srv/data")
    assert config.storage.backup_root is None
    assert config.storage_roots == [Path("/srv/data")]
    assert config.storage.root_mode == 0o2775
    assert config.state_dir == Path("/srv/data/config/datakeeper")
    assert config.users_dir == Path("/srv/data/homes")
    assert config.home.umask == 0o027
    assert [config.storage.data_root / f.path for f in config.folders_parents_first()] == [
        Path("/srv/data/homes"),
        Path("/srv/data/shared"),
        Path("/srv/data/shared/models"),
    ]
    assert config.resolved_env() == (
        {"HF_HOME": "/srv/data/shared/models"},
        {"PIP_CACHE_DIR": "${HOME}/.cache/pip-$USER"},
    )


def test_config_to_dict_is_json_ready() -> None:
    data = config_to_dict(parse_config(CUSTOM, SOURCE))
    assert data["storage"] == {"data_root": "/srv/data", "backup_root": None, "root_mode": "2775"}
    assert data["folders"][0] == {"path": "homes", "mode": "2750", "owner": "root"}
    assert data["home"]["umask"] == "027"
    assert data["alert"]["hook"] == "/usr/local/sbin/disk-alert"


def test_python_callers_may_pass_int_modes() -> None:
    folder = SiteConfig().folders[0].model_validate({"path": "x", "mode": 0o2770})
    assert folder.mode == 0o2770


def test_models_are_frozen() -> None:
    config = SiteConfig()
    with pytest.raises(pydantic.ValidationError):
        config.group = "other"  # type: ignore[misc]


# (TOML text, the exact message after the file name)
BAD_CONFIGS = [
    pytest.param(
        'acl = "yes"',
        ': acl = "yes": must be true or false, without quotes',
        id="bool-as-string",
    ),
    pytest.param(
        '[alert]\nthreshold_percent = "80"',
        ': alert.threshold_percent = "80": must be a whole number without quotes, like 30',
        id="int-as-string",
    ),
    pytest.param(
        "group = 5",
        ': group = 5: must be a string in quotes, like "text"',
        id="string-as-int",
    ),
    pytest.param(
        'colour = "blue"',
        (
            ": colour: unknown key; allowed keys: group, admin, language, state_dir, acl, "
            "storage, folders, env, home, sudo, cache, alert, backup, recovery, conda, uv, gpu, "
            'cluster (did you mean "cluster"?)'
        ),
        id="unknown-top",
    ),
    pytest.param(
        '[sudo]\ndropin_nam = "x"',
        (
            ": sudo.dropin_nam: unknown key; allowed keys: enabled, "
            'dropin_name, helper_path, allow (did you mean "dropin_name"?)'
        ),
        id="unknown-nested",
    ),
    pytest.param(
        USERS + 'mod = "2755"',
        ': folders[0].mod: unknown key; allowed keys: path, mode, owner (did you mean "mode"?)',
        id="unknown-in-folder",
    ),
    pytest.param(
        '[env.global]\nA = "1"',
        ": env.global: unknown key; allowed keys: shared, personal",
        id="unknown-env-table",
    ),
    pytest.param(
        '[storage]\ndata_root = "data"',
        ': storage.data_root = "data": must be an absolute path, like "/data"',
        id="relative-data-root",
    ),
    pytest.param(
        'state_dir = "/srv/state"',
        (
            ': state_dir = "/srv/state": must be inside storage.data_root '
            '"/data", like "/data/config/datakeeper"'
        ),
        id="state-dir-outside",
    ),
    pytest.param(
        'state_dir = "/data/"',
        (
            ': state_dir = "/data": must be inside storage.data_root "/data", '
            'like "/data/config/datakeeper"'
        ),
        id="state-dir-is-root",
    ),
    pytest.param(
        '[sudo]\nhelper_path = "/data/apps/helper"',
        (
            ': sudo.helper_path = "/data/apps/helper": must not be inside '
            '"/data": members run the helper as root, so it stays off storage '
            "where the admin and members make folders; use a path that is root's "
            'all the way up, like "/usr/local/sbin/datakeeper-helper"'
        ),
        id="helper-in-data",
    ),
    pytest.param(
        '[storage]\nbackup_root = "/data/backup"',
        (
            ': storage.backup_root = "/data/backup": must not be inside '
            'storage.data_root "/data"; use a separate disk'
        ),
        id="backup-in-data",
    ),
    pytest.param(
        '[storage]\ndata_root = "/backup/data"',
        (
            ': storage.backup_root = "/backup": must not contain '
            'storage.data_root "/backup/data"; use a separate disk'
        ),
        id="data-in-backup",
    ),
    pytest.param(
        'group = "Alice"',
        (
            ': group = "Alice": must be a lowercase name: a letter or "_", then '
            'up to 31 lowercase letters, digits, "_" or "-", like "gpu-users"'
        ),
        id="group-upper",
    ),
    pytest.param(
        'group = "a;id"',
        (
            ': group = "a;id": must be a lowercase name: a letter or "_", then '
            'up to 31 lowercase letters, digits, "_" or "-", like "gpu-users"'
        ),
        id="group-semicolon",
    ),
    pytest.param(
        'group = "1abc"',
        (
            ': group = "1abc": must be a lowercase name: a letter or "_", then '
            'up to 31 lowercase letters, digits, "_" or "-", like "gpu-users"'
        ),
        id="group-digit",
    ),
    pytest.param(
        'admin = "root"',
        ': admin = "root": is a reserved system name; choose another name',
        id="admin-root",
    ),
    pytest.param(
        "[storage]\nroot_mode = 2775",
        (
            ": storage.root_mode = 2775: must be an octal string in quotes, "
            'like "2775" (a bare number is decimal)'
        ),
        id="mode-int",
    ),
    pytest.param(
        USERS + 'mode = "9999"',
        ': folders[0].mode = "9999": must be an octal mode of digits 0-7, like "2775"',
        id="mode-9999",
    ),
    pytest.param(
        USERS + 'mode = "abc"',
        ': folders[0].mode = "abc": must be an octal mode of digits 0-7, like "2775"',
        id="mode-abc",
    ),
    pytest.param(
        USERS + 'mode = "0o77777"',
        ': folders[0].mode = "0o77777": must be at most "7777"',
        id="mode-big",
    ),
    pytest.param(
        USERS + 'mode = "2777"',
        (
            ': folders[0].mode = "2777": must not be world-writable (last digit '
            '2, 3, 6 or 7); use "2775"'
        ),
        id="mode-world",
    ),
    pytest.param(
        USERS + '[[folders]]\npath = "models"\n[[folders]]\npath = "models/"',
        (
            ': folders[2].path = "models": repeats folders[1] (a trailing "/" '
            "does not count); remove one"
        ),
        id="dup-folder",
    ),
    pytest.param(
        USERS + '[[folders]]\npath = "users/../etc"',
        ': folders[1].path = "users/../etc": must not contain ".."',
        id="dotdot",
    ),
    pytest.param(
        USERS + '[[folders]]\npath = "/srv"',
        (
            ': folders[1].path = "/srv": must be relative to data_root, like '
            '"models/torch" (no leading "/")'
        ),
        id="abs-folder",
    ),
    pytest.param(
        USERS + '[[folders]]\npath = "models/torch"',
        (
            ': folders[1].path = "models/torch": needs its parent listed too: '
            'add a [[folders]] entry with path = "models"'
        ),
        id="no-parent",
    ),
    pytest.param(
        USERS + '[[folders]]\nmode = "2755"',
        ": folders[1].path: is required but missing",
        id="missing-path",
    ),
    pytest.param(
        '[home]\nusers_folder = "homes"',
        (
            ': home.users_folder = "homes": must be one of the [[folders]] '
            'paths; add a [[folders]] entry with path = "homes"'
        ),
        id="users-folder",
    ),
    pytest.param(
        '[home]\ndefault_shell = "zsh"\nallowed_shells = ["bash"]',
        (
            ': home.default_shell = "zsh": must be one of home.allowed_shells '
            '("bash"); add it there or pick one'
        ),
        id="shell",
    ),
    pytest.param(
        '[home]\numask = "2"',
        ': home.umask = "2": must be an octal string of 3 or 4 digits in quotes, like "002"',
        id="umask",
    ),
    pytest.param(
        '[home]\nlayout = "copy"',
        ': home.layout = "copy": must be one of "link", "hybrid"',
        id="layout",
    ),
    pytest.param(
        '[env.shared]\nhf_home = "/x"',
        (
            ": env.shared.hf_home: is not a valid variable name: use A-Z, 0-9 "
            'and "_", not starting with a digit'
        ),
        id="env-lower",
    ),
    pytest.param(
        '[env.personal]\nX = "$(id)"',
        ': env.personal.X = "$(id)": must not contain "$(" (command substitution)',
        id="env-cmd",
    ),
    pytest.param(
        '[env.personal]\nX = "`id`"',
        (
            ': env.personal.X = "`id`": must not contain ", \\ or ` (it is '
            "written inside double quotes in a shell file)"
        ),
        id="env-tick",
    ),
    pytest.param(
        '[env.shared]\nX = "{root}/x"',
        (
            ': env.shared.X = "{root}/x": has unknown placeholder "{root}"; the '
            'only one is "{data_root}"'
        ),
        id="env-placeholder",
    ),
    pytest.param(
        '[env.shared]\nX = "$HOME/x"',
        (
            ': env.shared.X = "$HOME/x": must not use $HOME: shared values are '
            "the same for everyone; use [env.personal]"
        ),
        id="env-home-shared",
    ),
    pytest.param(
        '[env.personal]\nX = "$PATH:/x"',
        ': env.personal.X = "$PATH:/x": may use "$" only for $HOME and $USER',
        id="env-other-var",
    ),
    pytest.param(
        "[alert]\nthreshold_percent = 0",
        ": alert.threshold_percent = 0: must be an integer from 1 to 99",
        id="thr0",
    ),
    pytest.param(
        "[alert]\nthreshold_percent = 100",
        ": alert.threshold_percent = 100: must be an integer from 1 to 99",
        id="thr100",
    ),
    pytest.param(
        '[alert]\nhook = "alert.sh"',
        ': alert.hook = "alert.sh": must be an absolute path, like "/usr/local/sbin/disk-alert"',
        id="hook-rel",
    ),
    pytest.param(
        '[sudo]\ndropin_name = "datakeeper.conf"',
        (
            ': sudo.dropin_name = "datakeeper.conf": may only contain letters, '
            'digits, "_" and "-" (sudo ignores drop-in files whose name '
            'contains "." or ends with "~"), like "datakeeper"'
        ),
        id="dropin-dot",
    ),
    pytest.param(
        '[sudo]\nallow = ["cache-clean", "reboot"]',
        ': sudo.allow[1] = "reboot": must be one of "cache-clean", "disk-usage", "backup-restore"',
        id="allow",
    ),
    pytest.param(
        '[cache]\nkinds = ["pip", "pip"]',
        ': cache.kinds[1] = "pip": is listed twice; remove the repeat',
        id="kinds-dup",
    ),
    pytest.param(
        "[cache]\nmin_age_days = 99999999999",
        ": cache.min_age_days = 99999999999: must be an integer from 0 to 3650",
        id="min-age-huge",
    ),
    pytest.param(
        "[cache]\nmin_age_days = -1",
        ": cache.min_age_days = -1: must be an integer from 0 to 3650",
        id="min-age",
    ),
    pytest.param(
        'folders = "users"',
        ': folders = "users": must be an array, like ["a", "b"]',
        id="folders-not-array",
    ),
    pytest.param(
        "storage = 1",
        ": storage = 1: must be a table of keys and values",
        id="storage-not-table",
    ),
    pytest.param(
        'group = "gpu-users"\nadmin = alice\n',
        ":2:9: invalid TOML: Invalid value",
        id="bad-toml",
    ),
    pytest.param(
        '[storage]\ndata_root = "/data disk"',
        (
            ': storage.data_root = "/data disk": may only contain letters, '
            'digits, "/", ".", "_", "-", "+" and "@"'
        ),
        id="path-chars",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_bad_config_gives_one_exact_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    assert str(caught.value) == SOURCE + message
    assert caught.value.exit_code == ExitCode.INVALID


def test_first_error_counts_the_rest() -> None:
    text = 'group = "Alice"\nadmin = "root"\n[alert]\nthreshold_percent = 0\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    assert str(caught.value).endswith(' (and 2 more; run "datakeeper config validate" to see all)')
    assert "\n" not in str(caught.value)


def test_check_lists_every_problem_including_cross_section(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(
        'state_dir = "/srv/state"\n[home]\nusers_folder = "homes"\n'
        "[alert]\nthreshold_percent = 100\n"
    )
    assert check_config(path) == [
        f"{path}: alert.threshold_percent = 100: must be an integer from 1 to 99",
        f'{path}: state_dir = "/srv/state": must be inside storage.data_root "/data", '
        'like "/data/config/datakeeper"',
        f'{path}: home.users_folder = "homes": must be one of the [[folders]] paths; '
        'add a [[folders]] entry with path = "homes"',
    ]


def test_check_skips_cross_checks_whose_section_failed(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('state_dir = "/srv/state"\n[storage]\ndata_root = "data"\n')
    assert check_config(path) == [
        f'{path}: storage.data_root = "data": must be an absolute path, like "/data"'
    ]


def test_check_of_a_valid_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(render_config(SiteConfig()))
    assert check_config(path) == []


def test_missing_file_is_an_error_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    assert load_config(path, missing_ok=True) == SiteConfig()
    expected = r"absent\.toml: no such file; not set up yet\? run 'sudo datakeeper init'"
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_directory_and_non_utf8_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, missing_ok=True)
    assert str(caught.value) == f"{tmp_path}: is a directory; give the path of the .toml file"
    binary = tmp_path / "site.toml"
    binary.write_bytes(b'group = "\xff"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(binary)
    assert str(caught.value) == f"{binary}: not UTF-8 text (byte 9); save it as UTF-8"


def test_dangling_symlink_is_not_treated_as_missing(tmp_path: Path) -> None:
    link = tmp_path / "site.toml"
    link.symlink_to(tmp_path / "gone.toml")
    with pytest.raises(ConfigError, match="no such file"):
        load_config(link, missing_ok=True)


def test_resolve_config_path_reads_the_environment_at_call_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATAKEEPER_CONFIG", raising=False)
    assert resolve_config_path(None) == DEFAULT_CONFIG_PATH == Path("/data/config/datakeeper.toml")
    monkeypatch.setenv("DATAKEEPER_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path(None) == tmp_path / "env.toml"
    assert resolve_config_path(tmp_path / "cli.toml") == tmp_path / "cli.toml"


def _int_settings(model: type[pydantic.BaseModel], prefix: tuple[str, ...] = ()):
    """Every plain integer setting (bools aside) as a dotted (section, key) path."""
    for key, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            yield from _int_settings(annotation, (*prefix, key))
        elif annotation is int:
            yield (*prefix, key)


def test_every_numeric_setting_has_an_upper_bound() -> None:
    settings = list(_int_settings(SiteConfig))
    assert ("cache", "min_age_days") in settings
    for *sections, key in settings:
        text = "".join(f"[{s}]\n" for s in sections[:1]) + f"{key} = 10000000000000\n"
        with pytest.raises(ConfigError) as caught:
            parse_config(text, SOURCE)
        message = str(caught.value)
        assert f"{'.'.join((*sections, key))} = 10000000000000: must be" in message, message
        assert "\n" not in message
