"""The [backup] section: defaults, and one clear line for each bad value."""

from __future__ import annotations

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import ConfigError


def test_defaults_back_up_homes_only_gently():
    backup = parse_config("", "site.toml").backup
    assert backup.sources == ()
    assert (backup.keep_hourly, backup.keep_daily, backup.keep_weekly, backup.keep_monthly) == (
        0,
        7,
        4,
        6,
    )
    assert (backup.verify_sample_percent, backup.nice, backup.ionice_idle) == (100, 10, True)


def test_extra_sources_and_retention():
    text = '[backup]\nsources = ["code", "dataset/"]\nkeep_hourly = 24\nbwlimit_kib = 50000\n'
    backup = parse_config(text, "site.toml").backup
    assert backup.sources == ("code", "dataset")
    assert (backup.keep_hourly, backup.bwlimit_kib) == (24, 50000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[backup]\nsources = ["/data/code"]\n',
            'site.toml: backup.sources[0] = "/data/code": must be relative to data_root',
        ),
        ('[backup]\nsources = ["../etc"]\n', 'backup.sources[0] = "../etc": must not contain ".."'),
        ('[backup]\nsources = ["code", "code"]\n', "backup.sources[1]"),
        ("[backup]\nkeep_daily = -1\n", "backup.keep_daily = -1: must be an integer from 0 to"),
        ("[backup]\nverify_sample_percent = 0\n", "must be an integer from 1 to 100"),
        ("[backup]\nnice = 20\n", "backup.nice = 20: must be an integer from 0 to 19"),
        ("[backup]\nkeep_dayly = 3\n", 'did you mean "keep_daily"'),
    ],
)
def test_bad_values_are_one_line_naming_the_field(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "site.toml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
