"""Prune's plan and verify's verdict on snapshots laid out in a temporary folder."""

from __future__ import annotations

import json
import os

from datakeeper.config import parse_config
from datakeeper.features.backup import layout
from datakeeper.features.backup.prune import plan_prune
from datakeeper.features.backup.verify import verify_snapshot
from datakeeper.features.backup.writer import write_manifest


def _config(tmp_path, retention: str = ""):
    text = (
        f'[storage]\ndata_root = "{tmp_path}/data"\nbackup_root = "{tmp_path}/backup"\n'
        f"[backup]\n{retention}"
    )
    return parse_config(text, "site.toml")


def _snapshot(tmp_path, name: str, *, complete: bool = True):
    path = layout.snapshots_dir(tmp_path / "backup") / name
    data, meta = path / "data", path / "meta"
    (data / "users" / "alice").mkdir(parents=True)
    meta.mkdir()
    (data / "users" / "alice" / "notes.txt").write_text("hello\n")
    (data / "users" / "alice" / "old.txt").write_text("old\n")
    write_manifest(
        data, meta / layout.MANIFEST, users_folder="users", sample_percent=100, previous=None
    )
    if complete:
        (meta / layout.SUMMARY).write_text(json.dumps({"name": name}))
    return path


def test_prune_keeps_the_newest_and_a_partial_newer_than_it(tmp_path):
    cfg = _config(tmp_path, "keep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n")
    _snapshot(tmp_path, "2026-12-01T010000Z")
    _snapshot(tmp_path, "2026-12-01T020000Z.partial", complete=False)
    _snapshot(tmp_path, "2026-12-02T010000Z")
    _snapshot(tmp_path, "2026-12-03T010000Z.partial", complete=False)
    _snapshot(tmp_path, "2026-11-01T010000Z.deleting")
    plan = plan_prune(cfg)
    removed = sorted(removal.path.name for removal in plan.removals)
    assert removed == [
        "2026-11-01T010000Z.deleting",
        "2026-12-01T010000Z",
        "2026-12-01T020000Z.partial",
    ]
    assert plan.kept == {"2026-12-02T010000Z": ["newest"]}
    doomed = {r.path.name: r.doomed.name for r in plan.removals}
    assert doomed["2026-12-01T010000Z"] == "2026-12-01T010000Z.deleting"


def test_prune_applies_daily_retention(tmp_path):
    cfg = _config(tmp_path, "keep_daily = 2\nkeep_weekly = 0\nkeep_monthly = 0\n")
    for name in ("2026-12-01T010000Z", "2026-12-02T010000Z", "2026-12-02T020000Z"):
        _snapshot(tmp_path, name)
    plan = plan_prune(cfg)
    assert [r.path.name for r in plan.removals] == ["2026-12-02T010000Z"]


def test_verify_reports_missing_changed_and_extra_files(tmp_path):
    cfg = _config(tmp_path)
    path = _snapshot(tmp_path, "2026-12-01T010000Z")
    assert verify_snapshot(cfg, None).ok
    home = path / "data" / "users" / "alice"
    info = os.stat(home / "notes.txt")
    (home / "notes.txt").write_text("jello\n")  # one byte, same size
    os.utime(home / "notes.txt", ns=(info.st_atime_ns, info.st_mtime_ns))
    (home / "old.txt").unlink()
    (home / "planted").write_text("x")
    verdict = verify_snapshot(cfg, "2026-12")
    assert not verdict.ok
    assert verdict.missing == ["users/alice/old.txt"]
    assert verdict.changed == ["users/alice/notes.txt"]
    assert verdict.extra == ["users/alice/planted"]
    assert layout.list_snapshots(tmp_path / "backup")[0].state == "damaged"
    recorded = json.loads((path / "meta" / layout.VERIFY).read_text())
    assert recorded["counts"] == {"missing": 1, "changed": 1, "extra": 1}
    assert os.stat(path / "meta" / layout.VERIFY).st_mode & 0o777 == 0o600
