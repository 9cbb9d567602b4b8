"""Login texts follow the reader's locale, not root's: the recovery wait script picks
English or Korean when a member logs in (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, else the
site default), and ~/.hpcrc's comments are in the site's language."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from datakeeper.config import parse_config
from datakeeper.features.login_language import CHOOSER_VARIABLES
from datakeeper.features.recovery import unit_files
from datakeeper.features.users import dotfiles
from datakeeper.i18n import language_from_environment

SHELL = shutil.which("dash") or "sh"
# Translations with what a shell could misread: quotes, $, backquotes, a backslash.
KOREAN = {
    unit_files.WAITING: "datakeeper: 재부팅 뒤 계정과 설정을 복구하는 중입니다;",
    unit_files.WAIT_UP_TO: "최대 {n}초 기다립니다...",
    unit_files.LATE: "datakeeper: 경고: 복구가 끝나지 않았습니다. `id` $HOME \\n",
    unit_files.PROBLEMS: "datakeeper: 경고: 문제가 있었습니다 ('datakeeper recovery status').",
    dotfiles.HPCRC_ABOUT: "공용 GPU 서버용 설정입니다.",
}


@pytest.fixture(scope="module")
def languages(tmp_path_factory) -> dict:
    """English and a Korean catalog compiled from ``KOREAN`` with Babel."""
    catalog = Catalog(locale="ko", domain="datakeeper")
    for message, translation in KOREAN.items():
        catalog.add(message, translation)
    path = tmp_path_factory.mktemp("catalog") / "datakeeper.mo"
    with path.open("wb") as stream:
        write_mo(stream, catalog)
    with path.open("rb") as stream:
        korean = gettext.GNUTranslations(stream)
    return {"en": gettext.NullTranslations().gettext, "ko": korean.gettext}


def _login(tmp_path: Path, languages: dict, env: dict[str, str], site: str = "en") -> str:
    """stderr of an interactive root login (no wait) sourcing the script, recovery not
    done and failed; stdout must show that no variable of the script is left."""
    (tmp_path / "failed").write_text("1 skipped\n")
    script = tmp_path / "00-recovery-check.sh"
    script.write_text(
        unit_files.login_check_script(
            tmp_path / "done", 20, tmp_path / "failed", site_language=site, languages=languages
        )
    )
    fake = tmp_path / "fake-bin"
    fake.mkdir(exist_ok=True)
    (fake / "id").write_text("#!/bin/sh\necho 0\n")
    (fake / "id").chmod(0o755)
    left = " ".join(f"${{{name}+{name}}}" for name in (*CHOOSER_VARIABLES, "_dk_late"))
    result = subprocess.run(
        [SHELL, "-i", "-c", f'. {script}; echo "went-on{left}"'],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
        env={"PATH": f"{fake}:{os.environ['PATH']}", "HOME": "/", "ENV": "", **env},
    )  # fmt: skip
    assert result.stdout.strip() == "went-on", result.stdout + result.stderr
    return result.stderr


ENGLISH_LATE = "datakeeper: warning: recovery has not finished; some settings may be missing."
KOREAN_LATE = KOREAN[unit_files.LATE]


@pytest.mark.parametrize(
    ("env", "site", "korean"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "en", True),
        ({"LANG": "C.UTF-8"}, "en", False),
        ({"LANG": "C.UTF-8"}, "ko", True),  # C names no language: the site default
        ({"LANGUAGE": "ko:en", "LANG": "en_US.UTF-8"}, "en", True),
        ({}, "en", False),
        ({}, "ko", True),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "ko_KR.UTF-8"}, "ko", False),
        ({"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "en", True),
        ({"LANGUAGE": "fr:de", "LANG": "ko_KR.UTF-8"}, "ko", False),  # no catalog: English
        ({"LANG": "POSIX"}, "ko", True),
    ],
)
def test_the_login_reads_its_own_language(tmp_path, languages, env, site, korean):
    stderr = _login(tmp_path, languages, env, site)
    # dash -i without a terminal says it has no job control first; only ours count.
    lines = [line for line in stderr.splitlines() if line.startswith("datakeeper")]
    if korean:
        assert lines == [KOREAN_LATE, KOREAN[unit_files.PROBLEMS]]
    else:
        assert lines[0] == ENGLISH_LATE and "had problems" in lines[1]
    # The same rule as datakeeper itself, so the login and the tool agree.
    assert korean == ((language_from_environment(env) or site) == "ko")


def test_without_a_translation_the_script_has_one_text_per_message():
    script = unit_files.login_check_script(Path("/run/done"), 20, languages={"en": str, "ko": str})
    assert "_dk_late=" in script and "ko) _dk_late=" not in script
    assert "had problems" in script


def _site(language: str):
    text = f'language = "{language}"\n[storage]\ndata_root = "/data"\nbackup_root = ""\n'
    return parse_config(text, "site.toml")


def test_hpcrc_comments_are_in_the_site_language_with_the_english_beside(languages):
    korean = dotfiles.hpcrc(_site("ko"), languages).decode().splitlines()
    about = "# " + dotfiles.HPCRC_ABOUT
    assert korean[:2] == ["# " + KOREAN[dotfiles.HPCRC_ABOUT], about]
    assert korean[2] == "# " + dotfiles.HPCRC_YOURS  # not translated: English once
    english = dotfiles.hpcrc(_site("en"), languages).decode().splitlines()
    assert english[0] == about and not any("공용" in line for line in english)
