"""Snapshot names, states, and which one counts as the latest."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from datakeeper.errors import InvalidInputError
from datakeeper.features.backup import layout

WHEN = datetime(2026, 12, 4, 12, 34, 56, tzinfo=timezone.utc)


def test_names_are_utc_times_with_a_suffix_for_unfinished_ones():
    assert layout.snapshot_name(WHEN) == "2026-12-04T123456Z"
    assert layout.parse_name("2026-12-04T123456Z") == (WHEN, "")
    assert layout.parse_name("2026-12-04T123456Z.partial") == (WHEN, ".partial")
    assert layout.parse_name("2026-12-04T123456Z.deleting") == (WHEN, ".deleting")
    for other in ("latest", "2026-12-04T123456Z.tmp", "2026-13-04T123456Z", ".partial"):
        assert layout.parse_name(other) is None


def _snapshot(root, name, *, summary=True, verdict=None):
    path = layout.snapshots_dir(root) / name
    (path / "meta").mkdir(parents=True)
    if summary:
        (path / "meta" / layout.SUMMARY).write_text(json.dumps({"name": name}))
    if verdict is not None:
        (path / "meta" / layout.VERIFY).write_text(json.dumps({"ok": verdict}))
    return path


def test_states_and_the_latest_complete(tmp_path):
    _snapshot(tmp_path, "2026-12-01T010000Z", verdict=True)
    _snapshot(tmp_path, "2026-12-02T010000Z", verdict=False)
    _snapshot(tmp_path, "2026-12-03T010000Z")
    _snapshot(tmp_path, "2026-12-04T010000Z", summary=False)  # renamed by hand
    _snapshot(tmp_path, "2026-12-05T010000Z.partial", summary=False)
    _snapshot(tmp_path, "2026-11-01T010000Z.deleting")
    (layout.snapshots_dir(tmp_path) / "notes.txt").write_text("")
    found = layout.list_snapshots(tmp_path)
    assert [(s.name, s.state) for s in found] == [
        ("2026-11-01T010000Z", "deleting"),
        ("2026-12-01T010000Z", "verified"),
        ("2026-12-02T010000Z", "damaged"),
        ("2026-12-03T010000Z", "complete"),
        ("2026-12-04T010000Z", "partial"),
        ("2026-12-05T010000Z", "partial"),
    ]
    assert layout.latest_complete(found).name == "2026-12-03T010000Z"


def test_find_takes_a_unique_prefix_and_never_a_partial(tmp_path):
    _snapshot(tmp_path, "2026-11-30T010000Z")
    _snapshot(tmp_path, "2026-12-01T010000Z")
    _snapshot(tmp_path, "2026-12-01T020000Z.partial", summary=False)
    assert layout.find(tmp_path, "2026-11").name == "2026-11-30T010000Z"
    assert layout.find(tmp_path, None).name == "2026-12-01T010000Z"
    with pytest.raises(InvalidInputError, match="matches no complete snapshot"):
        layout.find(tmp_path, "2026-12-01T02")
    with pytest.raises(InvalidInputError, match="matches several"):
        layout.find(tmp_path, "2026")


def test_no_snapshot_yet(tmp_path):
    assert layout.list_snapshots(tmp_path) == []
    with pytest.raises(InvalidInputError, match="backup run"):
        layout.find(tmp_path, None)
