"""Which language the tool speaks, and that choosing it can never fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datakeeper import i18n
from datakeeper.cli.language import choose_language, option_value, site_language

KOREAN_USAGE = i18n.translation_for("ko").gettext("Usage: ")


@pytest.fixture(autouse=True)
def fresh_language(monkeypatch):
    """Each test starts with no --lang, no site default and no locale variables."""
    for variable in i18n.ENVIRONMENT_ORDER:
        monkeypatch.delenv(variable, raising=False)
    i18n.set_language(None)
    i18n.set_site_default(None)
    yield
    i18n.set_language(None)
    i18n.set_site_default(None)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "ko_KR"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, None),
        ({"LANG": "POSIX"}, None),
        ({}, None),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ko_KR.UTF-8"}, "ko"),
        ({"LC_MESSAGES": "ko_KR.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
        ({"LC_ALL": "en_GB.UTF-8", "LANGUAGE": "ko"}, "ko"),
        ({"LANGUAGE": "fr:ko:en", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LANGUAGE": "fr", "LANG": "ko_KR.UTF-8"}, "en"),  # asked for French: English
        ({"LANGUAGE": "", "LANG": "ko_KR.UTF-8"}, "ko"),  # empty means unset
        ({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}, "ko"),  # C names no language
        ({"LANG": "ko-KR"}, "ko"),
        ({"LANG": "ko_KR.eucKR@euro"}, "ko"),
    ],
)
def test_the_locale_variables_are_read_in_gettexts_order(environ, expected):
    assert i18n.language_from_environment(environ) == expected


def test_lang_beats_the_locale_and_the_locale_beats_the_site_default(monkeypatch):
    i18n.set_site_default("ko")
    assert i18n.current_language() == "ko"
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    i18n.set_site_default("ko")  # re-read the environment
    assert i18n.current_language() == "en"
    i18n.set_language("ko")
    assert i18n.current_language() == "ko"


def test_a_login_without_a_locale_gets_the_site_default(monkeypatch):
    monkeypatch.setenv("LANG", "C.UTF-8")
    i18n.set_site_default("ko")
    assert i18n.current_language() == "ko"
    assert i18n._("Usage: ") == KOREAN_USAGE != "Usage: "


def test_english_without_any_source():
    assert i18n.current_language() == "en"
    assert i18n._("Usage: ") == "Usage: "


def test_an_unknown_language_is_refused_by_set_language():
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        i18n.set_language("fr")


def test_plural_forms_follow_the_count():
    i18n.set_language("en")
    assert i18n.ngettext("{n} file", "{n} files", 1) == "{n} file"
    assert i18n.ngettext("{n} file", "{n} files", 2) == "{n} files"


@pytest.mark.parametrize("catalog", [None, b"not a catalog at all, just text"])
def test_a_missing_or_unreadable_catalog_falls_back_to_english(monkeypatch, tmp_path, catalog):
    if catalog is not None:
        (tmp_path / "ko" / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / "ko" / "LC_MESSAGES" / "datakeeper.mo").write_bytes(catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translation_for.cache_clear()
    try:
        i18n.set_language("ko")
        assert i18n._("Usage: ") == "Usage: "
    finally:
        monkeypatch.undo()
        i18n.translation_for.cache_clear()


def test_the_catalog_is_read_without_setlocale(monkeypatch):
    """Korean must work where ko_KR.UTF-8 was never generated: no setlocale call."""
    import locale

    def refuse(*args, **kwargs):
        raise AssertionError("setlocale called")

    monkeypatch.setattr(locale, "setlocale", refuse)
    i18n.translation_for.cache_clear()
    i18n.set_language("ko")
    assert i18n._("Usage: ") == KOREAN_USAGE


# --- the command line picks the language before loading its commands ---------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lang", "ko", "check"], "ko"),
        (["check", "--lang=ko"], "ko"),
        (["--lang", "ko", "--lang", "en"], "en"),
        (["user", "add", "--", "--lang", "ko"], None),
        (["--lang"], None),
    ],
)
def test_lang_is_found_anywhere_before_the_double_dash(argv, expected):
    assert option_value(argv, "--lang") == expected


def test_the_site_default_is_the_top_level_key_only(tmp_path):
    config = tmp_path / "datakeeper.toml"
    config.write_text('group = "lab"\nlanguage = "ko"  # for the Korean lab\n[home]\n')
    assert site_language(config) == "ko"
    config.write_text('group = "lab"\n[home]\nlanguage = "ko"\n')
    assert site_language(config) is None
    assert site_language(tmp_path / "missing.toml") is None
    assert site_language(tmp_path) is None  # a folder: unreadable, English


def test_choose_language_reads_the_config_named_on_the_command_line(tmp_path, monkeypatch):
    config = tmp_path / "site.toml"
    config.write_text('language = "ko"\n')
    monkeypatch.setenv("LANG", "C.UTF-8")
    choose_language(["--config", str(config), "check"])
    assert i18n.current_language() == "ko"
    choose_language(["--config", str(config), "--lang", "en", "check"])
    assert i18n.current_language() == "en"
    config.write_text('language = "klingon"\n')
    choose_language(["--config", str(config)])  # unknown: ignored here, refused by validate
    assert i18n.current_language() == "en"


# --- the real command in a child process ---------------------------------------


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in i18n.ENVIRONMENT_ORDER}
    clean["DATAKEEPER_CONFIG"] = "/nonexistent/datakeeper.toml"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "datakeeper", *args],
        capture_output=True,
        text=True,
        env=clean,
        check=False,
    )


ERROR_CASES = [
    ({"LANG": "ko_KR.UTF-8"}, "ko"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
    ({"LANGUAGE": "ko", "LANG": "C.UTF-8"}, "ko"),
]


@pytest.mark.parametrize(("env", "language"), ERROR_CASES)
def test_a_usage_error_is_one_line_in_the_users_language(env, language):
    result = _run(["user", "add"], **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    missing = i18n.translation_for(language).gettext("Missing argument {name}.")
    assert missing.split("{name}")[0].strip() in lines[0]
    assert "Traceback" not in result.stderr


def test_lang_on_the_command_line_translates_the_help(tmp_path):
    korean = _run(["--lang", "ko", "--help"], LANG="C.UTF-8")
    english = _run(["--help"], LANG="ko_KR.UTF-8", LANGUAGE="en")
    assert korean.returncode == english.returncode == 0
    assert korean.stdout.startswith(KOREAN_USAGE)
    assert english.stdout.startswith("Usage: ")
    assert "--dry-run" in korean.stdout  # option names are never translated


def test_the_site_config_language_reaches_a_login_without_a_locale(tmp_path):
    config = tmp_path / "site.toml"
    config.write_text('language = "ko"\n')
    result = _run(["--help"], DATAKEEPER_CONFIG=str(config))
    assert result.stdout.startswith(KOREAN_USAGE)


def test_a_bad_lang_value_names_the_option_and_the_choices():
    result = _run(["--lang", "fr", "check"])
    assert result.returncode == 2
    assert "--lang" in result.stderr and "en, ko" in result.stderr


def test_the_compiled_catalog_ships_beside_the_package():
    mo = Path(i18n.LOCALE_DIR) / "ko" / "LC_MESSAGES" / "datakeeper.mo"
    assert mo.is_file(), "build it with: .venv/bin/python scripts/i18n.py compile"


def test_the_words_click_and_typer_add_are_translated_too():
    """Headings, the help option, [required], and a usage error of Click's own."""
    korean = i18n.translation_for("ko").gettext
    shown = _run(["--lang", "ko", "user", "add", "--help"]).stdout
    for english in ("Arguments", "Options", "Show this message and exit."):
        assert korean(english) != english and korean(english) in shown
    assert f"[{korean('required')}]" in shown and "[required]" not in shown
    error = _run(["--lang", "ko", "check", "--no-such-flag"]).stderr
    assert korean("No such option: {name}").format(name="--no-such-flag") in error
