"""The [conda] and [uv] sections: defaults, derived paths, one exact message per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from datakeeper.config import SiteConfig, check_config, parse_config, render_config
from datakeeper.errors import ConfigError

SOURCE = "/etc/x.toml"
GOOD_SHA = "0123456789abcdef" * 4
ROOT_APPS = (
    '[[folders]]\npath = "users"\nowner = "root"\n[[folders]]\npath = "apps"\nowner = "root"\n'
)


def test_defaults_install_both_under_the_root_owned_apps_folder() -> None:
    config = SiteConfig()
    assert config.conda.enabled and config.uv.enabled
    assert config.conda.installer_url == (
        "https://repo.anaconda.com/miniconda/Miniconda3-py312_24.7.1-0-Linux-x86_64.sh"
    )
    assert config.conda.installer_sha256 == (
        "33442cd3813df33dcbb4a932b938ee95398be98344dff4c30f7e757cd2110e4f"
    )
    assert config.conda.download_timeout_seconds == 60
    assert config.uv.requirement == "uv>=0.4,<1"
    assert config.conda_prefix == Path("/data/apps/miniconda3")
    assert config.uv_prefix == Path("/data/apps/uv")


def test_prefixes_follow_data_root_and_are_normalized() -> None:
    text = (
        '[storage]\ndata_root = "/srv/data"\n'
        '[conda]\nprefix = "apps/conda/"\n'
        '[uv]\nprefix = "apps/tools/uv"\nrequirement = "uv == 0.4.30"\n'
    )
    config = parse_config(text, SOURCE)
    assert config.conda_prefix == Path("/srv/data/apps/conda")
    assert config.uv_prefix == Path("/srv/data/apps/tools/uv")
    assert config.uv.requirement == "uv == 0.4.30"


def test_render_writes_both_sections_and_parses_back() -> None:
    rendered = render_config(SiteConfig())
    assert "[conda]" in rendered and "[uv]" in rendered
    assert 'requirement = "uv>=0.4,<1"' in rendered.splitlines()
    assert "download_timeout_seconds = 60" in rendered.splitlines()
    assert parse_config(rendered, "rendered") == SiteConfig()


def test_an_empty_hash_is_fine_while_conda_is_disabled() -> None:
    config = parse_config('[conda]\nenabled = false\ninstaller_sha256 = ""', SOURCE)
    assert config.conda.installer_sha256 == ""


def test_disabled_software_may_name_any_prefix() -> None:
    text = (
        '[conda]\nenabled = false\nprefix = "models/conda"\n[uv]\nenabled = false\nprefix = "code"'
    )
    assert parse_config(text, SOURCE).uv.prefix == "code"


def test_uppercase_hex_is_rejected_not_lowered() -> None:
    with pytest.raises(ConfigError, match="64 lowercase hexadecimal digits"):
        parse_config(f'[conda]\ninstaller_sha256 = "{GOOD_SHA.upper()}"', SOURCE)


def test_validate_reports_section_and_prefix_problems_together(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[conda]\ndownload_timeout_seconds = 0\n[uv]\nprefix = "models/uv"\n')
    assert check_config(path) == [
        f"{path}: conda.download_timeout_seconds = 0: must be an integer from 1 to 3600",
        f'{path}: uv.prefix = "models/uv": must not be inside "models", a folder owned by '
        '"admin": root runs what is installed there; use a folder owned by "root", like '
        '"apps/uv"',
    ]


# (TOML text, the exact message after the file name)
BAD = [
    pytest.param(
        '[conda]\ninstaller_url = "ftp://repo.example/x.sh"',
        ': conda.installer_url = "ftp://repo.example/x.sh": must be an http:// or https:// URL '
        'without spaces, like "https://repo.anaconda.com/miniconda/NAME.sh"',
        id="url-scheme",
    ),
    pytest.param(
        '[conda]\ninstaller_url = "https:///x.sh"',
        ': conda.installer_url = "https:///x.sh": must be an http:// or https:// URL '
        'without spaces, like "https://repo.anaconda.com/miniconda/NAME.sh"',
        id="url-no-host",
    ),
    pytest.param(
        '[conda]\ninstaller_url = "https://a.example/x y.sh"',
        ': conda.installer_url = "https://a.example/x y.sh": must be an http:// or https:// '
        'URL without spaces, like "https://repo.anaconda.com/miniconda/NAME.sh"',
        id="url-space",
    ),
    pytest.param(
        '[conda]\ninstaller_sha256 = "abc123"',
        ': conda.installer_sha256 = "abc123": must be exactly 64 lowercase hexadecimal '
        "digits (0-9, a-f)",
        id="sha-short",
    ),
    pytest.param(
        f'[conda]\ninstaller_sha256 = "{GOOD_SHA[:-1]}g"',
        f': conda.installer_sha256 = "{GOOD_SHA[:-1]}g": must be exactly 64 lowercase '
        "hexadecimal digits (0-9, a-f)",
        id="sha-not-hex",
    ),
    pytest.param(
        '[conda]\ninstaller_sha256 = ""',
        ': conda.installer_sha256 = "": is required while conda.enabled is true: set it to '
        "the SHA-256 published next to the installer",
        id="sha-empty",
    ),
    pytest.param(
        "[conda]\ninstaller_sha256 = 5",
        ': conda.installer_sha256 = 5: must be a string in quotes, like "text"',
        id="sha-int",
    ),
    pytest.param(
        '[conda]\nprefix = "/opt/conda"',
        ': conda.prefix = "/opt/conda": must be relative to data_root, like "models/torch" '
        '(no leading "/")',
        id="prefix-absolute",
    ),
    pytest.param(
        '[conda]\nprefix = "apps/../models/conda"',
        ': conda.prefix = "apps/../models/conda": must not contain ".."',
        id="prefix-dotdot",
    ),
    pytest.param(
        '[conda]\nprefix = "models/miniconda3"',
        ': conda.prefix = "models/miniconda3": must not be inside "models", a folder owned '
        'by "admin": root runs what is installed there; use a folder owned by "root", like '
        '"apps/miniconda3"',
        id="prefix-admin-folder",
    ),
    pytest.param(
        ROOT_APPS + '[[folders]]\npath = "apps/shared"\n[conda]\nprefix = "apps/shared/conda"',
        ': conda.prefix = "apps/shared/conda": must not be inside "apps/shared", a folder '
        'owned by "admin": root runs what is installed there; use a folder owned by "root", '
        'like "apps/miniconda3"',
        id="prefix-admin-below-root",
    ),
    pytest.param(
        '[conda]\nprefix = "apps"\n[uv]\nenabled = false',
        ': conda.prefix = "apps": must not be one of the [[folders]] paths or contain one '
        '(the installer creates it); use a new folder below one, like "apps/miniconda3"',
        id="prefix-is-folder",
    ),
    pytest.param(
        '[uv]\nprefix = "cache"',
        ': uv.prefix = "cache": must not be one of the [[folders]] paths or contain one '
        '(the installer creates it); use a new folder below one, like "apps/uv"',
        id="prefix-contains-folder",
    ),
    pytest.param(
        "[conda]\ndownload_timeout_seconds = 0",
        ": conda.download_timeout_seconds = 0: must be an integer from 1 to 3600",
        id="timeout-0",
    ),
    pytest.param(
        "[conda]\ndownload_timeout_seconds = 3601",
        ": conda.download_timeout_seconds = 3601: must be an integer from 1 to 3600",
        id="timeout-big",
    ),
    pytest.param(
        '[conda]\ndownload_timeout_seconds = "60"',
        ': conda.download_timeout_seconds = "60": must be a whole number without quotes, like 30',
        id="timeout-string",
    ),
    pytest.param(
        "[conda]\nenable = false",
        ": conda.enable: unknown key; allowed keys: enabled, installer_url, installer_sha256, "
        'prefix, download_timeout_seconds (did you mean "enabled"?)',
        id="conda-unknown",
    ),
    pytest.param(
        "[uv]\nrequirement = \"uv; os_name == 'nt'\"",
        ": uv.requirement = \"uv; os_name == 'nt'\": must be a pip requirement like "
        '"uv>=0.4,<1": a name, then only letters, digits, ".", "<", ">", "=", "!", ",", "~" '
        "and spaces",
        id="req-marker",
    ),
    pytest.param(
        '[uv]\nrequirement = "--index-url=http://evil/ uv"',
        ': uv.requirement = "--index-url=http://evil/ uv": must be a pip requirement like '
        '"uv>=0.4,<1": a name, then only letters, digits, ".", "<", ">", "=", "!", ",", "~" '
        "and spaces",
        id="req-option",
    ),
    pytest.param(
        '[uv]\nrequirement = ""',
        ': uv.requirement = "": must be a pip requirement like "uv>=0.4,<1": a name, then '
        'only letters, digits, ".", "<", ">", "=", "!", ",", "~" and spaces',
        id="req-empty",
    ),
    pytest.param(
        '[uv]\nprefix = "models/uv"',
        ': uv.prefix = "models/uv": must not be inside "models", a folder owned by "admin": '
        'root runs what is installed there; use a folder owned by "root", like "apps/uv"',
        id="uv-admin-folder",
    ),
    pytest.param(
        '[uv]\nprefix = "apps/miniconda3/uv"',
        ': uv.prefix = "apps/miniconda3/uv": must not overlap conda.prefix "apps/miniconda3"; '
        'use a separate folder, like "apps/uv"',
        id="uv-inside-conda",
    ),
    pytest.param(
        '[uv]\nprefix = "apps/miniconda3"',
        ': uv.prefix = "apps/miniconda3": must not overlap conda.prefix "apps/miniconda3"; '
        'use a separate folder, like "apps/uv"',
        id="uv-same-as-conda",
    ),
    pytest.param(
        '[uv]\nenabled = "yes"',
        ': uv.enabled = "yes": must be true or false, without quotes',
        id="uv-enabled-string",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_software_config_gives_one_exact_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    assert str(caught.value) == SOURCE + message
