"""Issue 11, item 8: a refused ``user add`` left half an account behind.

The attack: ``user add carol --full-name $'Carol \\e]0;T\\a'``. ``useradd``
refused the name only after the private group ``carol`` had been created, and
the leftover group then blocked every new ``user add carol``. Now every input
is validated before the first change, and a run that still fails midway (here:
a file where ``/home/dave`` must become a link) undoes what it created, so a
second attempt starts clean.
"""

from __future__ import annotations

import json

REGISTRY = "/data/config/datakeeper/registry.json"
LOG = "/data/config/datakeeper/actions.log"


def _exists(server, database: str, name: str) -> bool:
    return server.run(["getent", database, name], check=False).returncode == 0


def _nothing_left_of(server, name: str) -> None:
    assert not _exists(server, "group", name)
    assert not _exists(server, "passwd", name)
    assert not server.path(f"/data/users/{name}").exists()
    registry = json.loads(server.path(REGISTRY).read_text())
    assert name not in registry["users"]


def test_a_full_name_with_a_terminal_escape_changes_nothing_and_blocks_nothing(site):
    before = site.snapshot()
    evil = "Carol \x1b]0;T\x07"
    result = site.datakeeper("user", "add", "carol", "--full-name", evil, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "full name" in result.stderr and "\x1b" not in result.stderr
    assert "Traceback" not in result.stderr
    _nothing_left_of(site, "carol")
    assert site.snapshot() == before
    site.datakeeper("--json", "user", "add", "carol", "--full-name", "Carol Park")
    assert site.run(["getent", "passwd", "carol"]).stdout.split(":")[4] == "Carol Park"


def test_a_user_add_failing_midway_rolls_back_so_the_second_attempt_starts_clean(site):
    site.run(["sh", "-c", "echo leftover > /home/dave"])  # where the home link must go
    result = site.datakeeper("user", "add", "dave", "--yes", check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "/home/dave" in result.stderr and "Traceback" not in result.stderr
    _nothing_left_of(site, "dave")
    logged = [json.loads(line) for line in site.path(LOG).read_text().splitlines()]
    undone = [e["resource"] for e in logged if e["outcome"] == "undone"]
    assert "account dave" in undone and "group dave" in undone

    site.run(["rm", "/home/dave"])
    site.datakeeper("--json", "user", "add", "dave", "--yes")  # no --adopt-home needed
    assert _exists(site, "passwd", "dave")
    assert site.run(["readlink", "/home/dave"]).stdout.strip() == "/data/users/dave"
