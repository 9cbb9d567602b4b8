"""The sudo helper speaks the caller's language: translations baked in when it is rendered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from datakeeper import i18n
from datakeeper.config import parse_config
from datakeeper.features.setup.helper_text import helper_msgids, helper_translations
from datakeeper.features.setup.sudo import inline_imports, render_helper_script
from datakeeper.helper import messages
from datakeeper.helper.main import main as helper_main


def _config(tmp_path: Path, language: str = "en"):
    text = (
        f'language = "{language}"\n'
        f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = "{tmp_path}/backup"\n'
    )
    return parse_config(text, "test")


def _helper_source() -> str:
    return inline_imports(Path(messages.__file__).with_name("main.py").read_text(), set())


@pytest.fixture
def korean_table(monkeypatch):
    """The helper module in-process with the table a rendered helper carries."""
    monkeypatch.setattr(messages, "TRANSLATIONS", helper_translations(_helper_source()))
    yield
    messages._spoken.clear()  # speak English again in the tests that follow


def _run(script: Path, env: dict[str, str], *args: str, stdin: bytes = b""):
    argv = [sys.executable, "-I", str(script), *args]
    environment = {"PATH": "/usr/bin:/bin", **env}
    result = subprocess.run(argv, input=stdin, capture_output=True, env=environment, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def _script(tmp_path: Path, language: str = "en") -> Path:
    script = tmp_path / f"helper-{language}"
    script.write_bytes(render_helper_script(_config(tmp_path, language)))
    return script


def _tarball(tmp_path: Path) -> Path:
    pkgs = tmp_path / "data/cache/conda/pkgs"
    pkgs.mkdir(parents=True, exist_ok=True)
    tarball = pkgs / "numpy.tar.bz2"
    tarball.write_bytes(b"x" * 10)
    return tarball


@pytest.mark.parametrize(
    ("language", "env", "korean"),
    [
        ("en", {"LANG": "ko_KR.UTF-8"}, True),
        ("en", {"LANG": "C.UTF-8"}, False),
        ("en", {}, False),
        ("ko", {}, True),
        ("ko", {"LANG": "C.UTF-8"}, True),
        ("ko", {"LANG": "en_US.UTF-8"}, False),
        ("en", {"LANGUAGE": "fr:ko", "LANG": "en_US.UTF-8"}, True),
    ],
)
def test_the_rendered_helper_cleans_in_the_callers_language(tmp_path, language, env, korean):
    tarball = _tarball(tmp_path)
    code, out, err = _run(_script(tmp_path, language), env, "cache-clean", "conda")
    assert (code, err) == (0, "")
    assert not tarball.exists()
    if korean:
        assert f"삭제: {tarball}\n" in out
        assert out.endswith("conda: 파일 1개 삭제, 10바이트 확보 (10 B)\n")
    else:
        assert f"removed {tarball}\n" in out
        assert out.endswith("conda: removed 1 file, freed 10 bytes (10 B)\n")


def test_a_refusal_and_the_usage_line_are_translated(tmp_path):
    script = _script(tmp_path)
    code, out, err = _run(script, {"LANG": "ko_KR.UTF-8"}, "cache-clean", "pip")
    assert (code, out) == (2, "")
    assert err.startswith("datakeeper-helper: 거부됨: cache-clean pip; 허용된 명령: disk-usage, ")
    assert "backup-restore|backup-browse (요청은 표준 입력으로)" in err
    code, _out, err = _run(script, {"LANG": "ko_KR.UTF-8", "SUDO_UID": "1000"}, "backup-restore",
                           stdin=b"\0../bob/secret\0")  # fmt: skip
    assert (code, err) == (2, "datakeeper-helper: 경로에 '..', '.', '//'를 쓸 수 없습니다\n")


def test_counts_take_the_languages_plural_form(korean_table):
    singular = "({n} entry of other accounts not shown)"
    plural = "({n} entries of other accounts not shown)"
    assert messages.choose_language({}) == "en"
    shown = [messages.ngettext(singular, plural, n).format(n=n) for n in (1, 3)]
    assert shown == [
        "(1 entry of other accounts not shown)",
        "(3 entries of other accounts not shown)",
    ]
    assert messages.choose_language({"LC_ALL": "ko_KR.UTF-8"}) == "ko"
    shown = [messages.ngettext(singular, plural, n).format(n=n) for n in (1, 3)]
    assert shown == [
        "(다른 계정의 항목 1개는 표시하지 않음)",
        "(다른 계정의 항목 3개는 표시하지 않음)",
    ]


def test_main_speaks_the_sites_language_when_the_locale_names_none(
    korean_table, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("LANG", "C")
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    policy = {"allow": ["disk-usage"], "caches": {}, "storage_roots": [str(tmp_path / "x")]}
    assert helper_main(["disk-usage"], {**policy, "language": "ko"}) == 1
    assert capsys.readouterr().err == "존재하는 저장소 루트가 없습니다\n"
    assert helper_main(["disk-usage"], policy) == 1
    assert capsys.readouterr().err == "no storage root exists\n"


def test_the_package_itself_speaks_english(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "ko")
    policy = {"allow": [], "caches": {}, "storage_roots": [], "language": "ko"}
    assert helper_main(["disk-usage"], policy) == 2
    assert capsys.readouterr().err.startswith("datakeeper-helper: refused: disk-usage; ")


def test_the_table_holds_exactly_the_helpers_messages_each_translated():
    source = _helper_source()
    singles, plurals = helper_msgids(source)
    assert "your home does not exist" in singles and len(singles) > 40
    table = helper_translations(source)
    assert set(table) == set(i18n.LANGUAGES) - {"en"}
    assert sorted(table["ko"]["messages"]) == singles
    assert sorted(table["ko"]["plurals"]) == sorted(singular for singular, _plural in plurals)
    assert table["ko"]["plural"] == "0"


def test_the_rendered_helper_is_the_same_bytes_each_time(tmp_path):
    cfg = _config(tmp_path, "ko")
    script = render_helper_script(cfg)
    assert script == render_helper_script(cfg)
    text = script.decode()
    assert text.count("TRANSLATIONS = {'ko': {") == 1 and "'language': 'ko'" in text
    compile(text, "datakeeper-helper", "exec")


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"LANG": "ko_KR.UTF-8"},
        {"LANG": "C"},
        {"LANG": "POSIX", "LC_MESSAGES": "ko_KR"},
        {"LANGUAGE": "fr", "LANG": "ko_KR.UTF-8"},
        {"LANGUAGE": "fr:ko:en"},
        {"LANGUAGE": ":", "LC_ALL": "en_US.UTF-8", "LANG": "ko"},
        {"LC_ALL": "ko-KR@euro"},
        {"LANG": "de_DE.UTF-8"},
    ],
)
def test_the_helper_reads_the_locale_as_datakeeper_does(env):
    expected = i18n.language_from_environment(env)
    assert messages.asked_language(env, i18n.LANGUAGES) == expected
