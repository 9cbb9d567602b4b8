"""Issue 11, item 3: names a member chooses must not drive the admin's terminal.

The attack: alice names files in a shared cache and in /data/code, and a
program she runs, with terminal escape sequences (set the window title, clear
the screen, print a red "FAKE: all good", write the clipboard with OSC 52),
carriage returns and newlines that forge lines, C1 controls, Rich markup and
bytes that are not UTF-8. Root's ``cache clean`` (dry run and real),
``fix-permissions --shared``, ``disk`` and the ``user remove`` preview used to
print them raw. Now every name is shown with its control characters escaped
(``\\x1b``, ``\\n``, ``\\xff``), ``--json`` carries them as JSON escapes, and the
action log holds no raw control character either.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.site_setup import add_linked_member

PKGS = "/data/cache/conda/pkgs"
CODE = "/data/code"
ACTIONS = "/data/config/datakeeper/actions.log"
TITLE = "\x1b]0;OWNED\x07\x1b[2J\x1b[31mFAKE: all good"
SHOWN = "\\x1b]0;OWNED\\x07\\x1b[2J\\x1b[31mFAKE: all good"
PROCESS = "\x1b]0;OWNED\x07\x1b[2J"  # 14 bytes: fits a process name
# Raw in a terminal: C0 controls but the newline that ends our own lines and the tab
# that separates the fields of a table in a pipe (a tab inside a name is escaped: see
# tests/unit/test_cli_output.py), DEL, C1.
RAW = [chr(c) for c in (*range(0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))]

PLANT = r"""
import os, shutil, subprocess, time
title = b"\x1b]0;OWNED\x07\x1b[2J\x1b[31mFAKE: all good"
names = [
    title + b".conda",
    b"\x1b]52;c;cm0gLXJmIH4K\x07\r\n[bold red]x.conda",  # clipboard, forged line, markup
    b"bad-\xff\xfe-\xc2\x9b2J-\x9b.conda",  # not UTF-8, and a C1 CSI
]
old = time.time() - 100 * 86400
os.makedirs(b"/data/code/" + title)
for folder in (b"/data/cache/conda/pkgs/", b"/data/code/" + title + b"/"):
    for name in names:
        with open(folder + name, "wb") as stream:
            stream.write(b"x")
        os.utime(folder + name, (old, old))
program = "/data/users/alice/" + "\x1b]0;OWNED\x07\x1b[2J"
shutil.copy("/bin/sleep", program)
subprocess.Popen([program, "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL, start_new_session=True)
"""


@pytest.fixture
def site(site):
    """alice, a member with a linked home, planted names everywhere root looks."""
    add_linked_member(site, "alice")
    site.run([sys.executable, "-c", PLANT], user="alice")
    return site


def _as_root(server, *args: str, code: int = 0) -> str:
    """Root runs datakeeper; its stdout and stderr must hold nothing a terminal acts on."""
    result = server.datakeeper(*args, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    _assert_nothing_raw(output)
    return result.stdout


def _assert_nothing_raw(text: str) -> None:
    raw = sorted({hex(ord(char)) for char in text if char in RAW or 0xD800 <= ord(char) < 0xE000})
    assert not raw, f"raw control characters reached the terminal: {raw}"


def test_member_file_names_cannot_drive_roots_terminal_through_cache_clean(site):
    out = _as_root(site, "--dry-run", "cache", "clean", "--conda")
    assert f"{PKGS}/{SHOWN}.conda" in out
    assert f"{PKGS}/\\x1b]52;c;cm0gLXJmIH4K\\x07\\r\\n[bold red]x.conda" in out
    assert f"{PKGS}/bad-\\xff\\xfe-\\x9b2J-\\x9b.conda" in out
    as_json = json.loads(_as_root(site, "--json", "--dry-run", "cache", "clean", "--conda"))
    assert f"{PKGS}/{TITLE}.conda" in as_json["caches"][0]["sample"]  # exact, for scripts
    out = _as_root(site, "--yes", "cache", "clean", "--conda")
    assert f"{PKGS}/{SHOWN}.conda" in out and "removed 3 entries" in out
    _assert_nothing_raw(site.run(["cat", ACTIONS]).stdout)


def test_member_file_names_cannot_drive_roots_terminal_through_fix_permissions(site):
    _as_root(site, "--dry-run", "fix-permissions", "--shared")
    out = _as_root(site, "--dry-run", "fix-permissions", "--shared", "--grant-write")
    assert f"{CODE}/{SHOWN}/{SHOWN}.conda" in out  # listed by name, escaped
    _as_root(site, "--json", "fix-permissions", "--shared")
    _as_root(site, "--yes", "fix-permissions", "--shared")
    _assert_nothing_raw(site.run(["cat", ACTIONS]).stdout)


def test_member_names_cannot_drive_roots_terminal_through_disk_and_user_remove(site):
    _as_root(site, "disk", "--by-owner")
    _as_root(site, "--json", "disk")
    out = _as_root(site, "--dry-run", "user", "remove", "alice", "--kill-sessions")
    assert "\\x1b]0;OWNED\\x07\\x1b[2J" in out  # the process, by its escaped name
    report = _as_root(site, "--json", "--dry-run", "user", "remove", "alice", "--kill-sessions")
    names = [p["name"] for p in json.loads(report)["user"]["processes"]]
    assert PROCESS in names
