"""`datakeeper` with no arguments, in a real terminal (tmux) inside a disposable server:
keys add a user with a generated key; the account then logs in through the real sshd."""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from tests.support.site_setup import prepare_site
from tests.support.sshd import ssh_login, sshd_log, start_sshd

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed (scripts/install-test-deps installs it)",
    ),
]

SESSION = "dk"
KEY = "/data/config/datakeeper/keys/carol_ed25519"


class Terminal:
    """A detached 80x24 tmux session inside ``server`` running one command."""

    def __init__(self, server, argv: list[str]) -> None:
        self.server = server
        command = " ".join(argv) + "; sleep 0.5"
        server.run(
            [
                "tmux",
                "-u",  # UTF-8 whatever the locale: the Korean menu test reads Hangul
                "new-session",
                "-d",
                "-s",
                SESSION,
                "-x",
                "80",
                "-y",
                "24",
                "-e",
                "TERM=xterm-256color",
                command,
            ]
        )

    def screen(self) -> str:
        result = self.server.run(["tmux", "capture-pane", "-p", "-t", SESSION], check=False)
        return result.stdout

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.server.run(["tmux", "send-keys", "-t", SESSION, key])
            time.sleep(0.15)

    def type(self, text: str) -> None:
        self.server.run(["tmux", "send-keys", "-t", SESSION, "-l", text])

    def alive(self) -> bool:
        return self.server.run(["tmux", "has-session", "-t", SESSION], check=False).returncode == 0


def test_add_a_user_with_a_generated_key_from_the_menu_then_log_in(site):
    term = Terminal(site, [sys.executable, "-m", "datakeeper"])
    term.wait_for("Admin menu")
    term.keys("3")
    term.wait_for("User name")
    term.type("carol")
    term.wait_for("valid name")
    term.keys("C-s")  # Review: generate an ed25519 pair, bash, the site group
    term.wait_for("Create carol?")
    term.keys("y")
    handout = term.wait_for("carol is ready.", timeout=60)
    assert "ssh -i carol_ed25519 carol@" in handout
    term.keys("Escape")
    term.wait_for("Admin menu")
    term.keys("q")
    deadline = time.monotonic() + 10
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive(), term.screen()

    passwd = site.run(["getent", "passwd", "carol"]).stdout
    assert passwd.split(":")[5] == "/home/carol"
    assert "gpu-users" in site.run(["id", "-Gn", "carol"]).stdout.split()
    start_sshd(site)
    result = ssh_login(site, "carol", KEY, "id -un; pwd -P")
    assert result.returncode == 0, f"{result.stderr}\n--- sshd log ---\n{sshd_log(site)}"
    assert result.stdout.split() == ["carol", "/data/users/carol"]


STEPS = ["GROUP", "STORAGE", "FOLDERS", "ADMIN", "ENV", "SUDO"]


def test_the_setup_wizard_sets_a_fresh_server_up_step_by_step(server):
    """A config written by hand (no admin in it), an admin account with its home on the
    SSD: menu 1, type the admin, then plan and apply each of the six steps."""
    prepare_site(server)
    term = Terminal(server, [sys.executable, "-m", "datakeeper"])
    term.wait_for("Admin menu")
    term.keys("1")
    term.wait_for("Show the plan")
    term.keys("Tab")  # the admin field: empty, since the config names none
    term.type("admin")
    term.keys("C-s")
    for number, key in enumerate(STEPS, start=1):
        shown = term.wait_for(f"{number}/6 {key}:", timeout=60)
        assert "✗" not in shown and "FAILED" not in shown, shown
        term.wait_for("Plan (nothing changed yet)", timeout=60)
        term.keys("a")
        shown = term.wait_for("Result:", timeout=60)
        assert "Error" not in shown and "failed" not in shown, shown
        term.keys("n")
    summary = term.wait_for("Summary", timeout=60)
    assert "6/6" in summary
    term.keys("q")
    # What the six steps did, seen from outside the menu.
    assert server.run(["getent", "group", "gpu-users"]).stdout.startswith("gpu-users:")
    for folder in ("/data/users", "/data/dataset", "/data/models/huggingface/hub", "/data/apps"):
        assert server.path(folder).is_dir(), folder
    assert os.readlink(server.path("/home/admin")) == "/data/users/admin"
    assert server.path("/data/users/admin/thesis.tex").read_text() == "thesis\n"
    assert os.path.isfile(server.path("/etc/sudoers.d/datakeeper"))
    assert 'admin = "admin"' in server.path("/data/config/datakeeper.toml").read_text()


def test_the_admin_and_user_menus_speak_korean_in_a_real_terminal(site):
    """LANG=ko_KR.UTF-8 (a locale this server never generated): Korean menus, Korean
    screens, and the menu still fits the 80x24 terminal."""
    korean = ["env", "LANG=ko_KR.UTF-8", sys.executable, "-m", "datakeeper"]
    term = Terminal(site, korean)
    shown = term.wait_for("관리자 메뉴")
    for entry in ("1  초기 설정", "2  설정 테스트", "3  사용자 추가", "4  사용자 삭제",
                  "5  글로벌 패키지", "6  자동 복구"):  # fmt: skip
        assert entry in shown, shown
    assert "Admin menu" not in shown
    term.keys("2")
    shown = term.wait_for("통과", timeout=60)  # the configuration test's summary line
    assert "실패 0개" in shown, shown
    term.keys("Escape")
    term.wait_for("관리자 메뉴")
    term.keys("q")
    _wait_closed(term)

    member = Terminal(site, ["runuser", "-u", "admin", "--", *korean])
    shown = member.wait_for("사용자 메뉴")
    for entry in ("환경 정보", "디스크 사용량", "캐시 정리", "Conda 가이드", "도움말"):
        assert entry in shown, shown
    member.keys("1")
    member.wait_for("umask")
    member.keys("Escape")
    member.wait_for("사용자 메뉴")
    member.keys("q")
    _wait_closed(member)


def _wait_closed(term: Terminal) -> None:
    deadline = time.monotonic() + 10
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive(), term.screen()
