"""`datakeeper` with no arguments, in a real terminal (tmux) inside a disposable server:
keys add a user with a generated key; the account then logs in through the real sshd."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

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
