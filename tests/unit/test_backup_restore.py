"""``backup restore`` and ``browse``: the helper's grammar and confinement, the admin's copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datakeeper.cli.app import app
from datakeeper.config import parse_config
from datakeeper.errors import ConflictError, InvalidInputError
from datakeeper.features.backup.member import MemberRequest, home_relative
from datakeeper.features.backup.restore import RestoreFromSnapshot, RestoreRequest
from datakeeper.features.setup.sudo import helper_policy, render_helper_script, render_sudoers
from datakeeper.helper import main as helper
from datakeeper.helper.restore import caller, read_request
from datakeeper.helper.snapshots import locate, pick, split_relative
from datakeeper.helper.walk import Refused

NAMES = ["2026-11-29T010000Z", "2026-11-30T010000Z", "2026-12-01T010000Z"]
OLD, NEW = NAMES[1], NAMES[2]


# -- the helper's request: grammar and confinement -------------------------------


def test_a_request_is_three_nul_separated_fields():
    assert read_request(b"2026-11-30\0proj/train.py\0overwrite in-place") == (
        "2026-11-30",
        "proj/train.py",
        {"overwrite", "in-place"},
    )
    assert read_request(b"\0proj/caf\xe9\0") == (None, "proj/caf\udce9", set())


@pytest.mark.parametrize(
    "data",
    [b"", b"a\0b", b"a\0b\0c\0d", b"\0x\0--force", b"\0x\0" + b"y" * 9000],
)
def test_anything_else_on_stdin_is_refused(data):
    with pytest.raises(Refused) as refused:
        read_request(data)
    assert refused.value.code == 2


@pytest.mark.parametrize(
    "path", ["", "/etc/shadow", "../bob/secret", "proj/../../bob", "a//b", "./x", "a/./b", "x\0y"]
)
def test_paths_leaving_the_home_are_refused(path):
    with pytest.raises(Refused) as refused:
        split_relative(path)
    assert refused.value.code == 2


def test_a_plain_relative_path_is_split():
    assert split_relative("proj/train.py") == ["proj", "train.py"]
    assert split_relative("proj/") == ["proj"]


def test_the_caller_is_sudo_uid_and_never_root():
    for environ in ({}, {"SUDO_UID": "0"}, {"SUDO_UID": "x1"}, {"SUDO_UID": "-1"}):
        with pytest.raises(Refused):
            caller(environ)
    assert caller({"SUDO_UID": str(os.getuid() or 65534)}).pw_uid == (os.getuid() or 65534)


def test_from_takes_a_name_a_date_or_a_prefix():
    assert pick(NAMES, None) == NEW
    assert pick(NAMES, OLD) == OLD
    assert pick(NAMES, "2026-11-30") == OLD  # the newest at or before the end of that day
    assert pick(NAMES, "2026-11-30T00:30") == NAMES[0]
    assert pick(NAMES, "2026-12-15") == NEW
    assert pick(NAMES, "2026-12") == NEW  # a unique prefix
    for wanted in ("2026-11-01", "yesterday"):
        with pytest.raises(Refused, match="no complete snapshot at or before"):
            pick(NAMES, wanted)
    with pytest.raises(Refused, match="no complete snapshot yet"):
        pick([], None)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "alice"
    (home / "proj").mkdir(parents=True)
    (home / "proj/train.py").write_text("v1\n")
    (home / "elsewhere").symlink_to(tmp_path / "bob")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob/secret").write_text("bob\n")
    (home / "link.py").symlink_to("/etc/shadow")
    return home


def test_a_link_in_the_path_is_never_followed_but_a_last_link_is_found(tmp_path):
    home = _home(tmp_path)
    with pytest.raises(Refused, match="elsewhere is not a folder in the snapshot"):
        locate(str(home), ["elsewhere", "secret"])
    path, _info = locate(str(home), ["link.py"])
    assert path.endswith("/link.py") and os.path.islink(path)
    with pytest.raises(Refused, match="not in this snapshot"):
        locate(str(home), ["proj", "gone.py"])


def test_another_owners_path_is_refused(tmp_path):
    home = _home(tmp_path)
    me = os.stat(home).st_uid
    assert locate(str(home), ["proj", "train.py"], owner=me)[0].endswith("train.py")
    with pytest.raises(Refused, match="is not yours in the snapshot"):
        locate(str(home), ["proj", "train.py"], owner=me + 1)


# -- the helper program and the sudoers policy -----------------------------------


def _policy(tmp_path: Path, allow=("backup-restore",)) -> dict:
    backup = {"snapshots": str(tmp_path / "s"), "homes_inside": "data/users", "homes": "/x"}
    return {"allow": list(allow), "caches": {}, "storage_roots": [], "backup": backup}


@pytest.mark.parametrize(
    "argv", [["backup-restore", "proj"], ["backup-browse", "--from", "x"], ["backup-restore", ""]]
)
def test_the_backup_commands_take_no_argument(argv, tmp_path, capsys):
    assert helper.main(argv, _policy(tmp_path)) == 2
    error = capsys.readouterr().err
    assert error.startswith("datakeeper-helper: refused: ") and error.count("\n") == 1
    assert "backup-restore|backup-browse (request on stdin)" in error


def test_the_backup_commands_need_the_site_to_allow_them(tmp_path, capsys):
    assert helper.main(["backup-restore"], _policy(tmp_path, allow=("disk-usage",))) == 2
    assert helper.main(["backup-browse"], {**_policy(tmp_path), "backup": {}}) == 2


def test_the_policy_carries_the_snapshot_root_and_sudoers_the_exact_commands():
    cfg = parse_config('[storage]\nbackup_root = "/backup"\n', "test")
    policy = helper_policy(cfg)
    assert policy["backup"] == {
        "snapshots": "/backup/datakeeper/snapshots",
        "homes_inside": "data/users",
        "homes": "/data/users",
    }
    text = render_sudoers(cfg).decode()
    assert "datakeeper-helper backup-restore, \\\n" in text
    assert "datakeeper-helper backup-browse\n" in text
    off = parse_config('[storage]\nbackup_root = "/backup"\n[sudo]\nallow = ["disk-usage"]', "t")
    assert helper_policy(off)["backup"] == {} and "backup" not in render_sudoers(off).decode()


def test_the_rendered_helper_refuses_a_bad_request_with_one_line(tmp_path):
    cfg = parse_config('[storage]\nbackup_root = "/backup"\n', "test")
    script = tmp_path / "helper"
    script.write_bytes(render_helper_script(cfg))
    cases = [
        (b"\0../bob/secret\0", {"SUDO_UID": "1000"}, b"may not hold '..'"),
        (b"\0x\0", {}, b"run this through sudo as a member"),
    ]
    for stdin, env, message in cases:
        result = subprocess.run(
            [sys.executable, "-I", str(script), "backup-restore"],
            input=stdin,
            capture_output=True,
            env=env,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.count(b"\n") == 1 and result.stdout == b""
        assert message in result.stderr


# -- the member's side: only paths in their home ---------------------------------


def test_a_member_names_paths_in_their_home_only(tmp_path, monkeypatch):
    cfg = parse_config(f'[storage]\ndata_root = "{tmp_path}"\n', "test")
    home = Path.home()
    monkeypatch.chdir(home)
    assert home_relative(cfg, home / "proj/train.py") == "proj/train.py"
    assert home_relative(cfg, Path("proj/x")) == "proj/x"
    assert home_relative(cfg, home) == ""
    for outside in (Path("/etc/shadow"), home / "../bob/secret"):
        with pytest.raises(InvalidInputError, match="you can restore only your own files"):
            home_relative(cfg, outside)
    request = MemberRequest(None, "2026-11-30", in_place=True, dry_run=True)
    assert request.encode("caf\udce9") == b"2026-11-30\0caf\xe9\0in-place dry-run"


# -- the admin's restore: a real rsync between two folders -----------------------


@pytest.fixture
def site(tmp_path):
    data, backup = tmp_path / "data", tmp_path / "backup"
    for name in NAMES[1:]:
        snapshot = backup / "datakeeper/snapshots" / name
        (snapshot / "meta").mkdir(parents=True)
        (snapshot / "meta/snapshot.json").write_text("{}")
        home = snapshot / "data/users/alice"
        (home / "proj").mkdir(parents=True)
        (home / "proj/train.py").write_text(f"from {name}\n")
        (home / "link.py").symlink_to("/etc/shadow")
    (data / "users/alice/proj").mkdir(parents=True)
    (data / "users/alice/proj/keep.txt").write_text("live\n")
    config = f'[storage]\ndata_root = "{data}"\nbackup_root = "{backup}"\n'
    return parse_config(config, "test"), data / "users/alice"


def _restore(cfg, path, **options):
    job = RestoreFromSnapshot(cfg, RestoreRequest(path, **options))
    sentence, _details = job.prepare()
    return job, sentence, job.take()


def test_the_admin_restores_beside_the_original_by_default(site):
    cfg, home = site
    _job, sentence, done = _restore(cfg, home / "proj/train.py", snapshot="2026-11-30")
    assert sentence.startswith(f"restore {home}/proj/train.py.restored-{OLD} from snapshot")
    assert (home / f"proj/train.py.restored-{OLD}").read_text() == f"from {OLD}\n"
    assert sorted(os.listdir(home / "proj")) == ["keep.txt", f"train.py.restored-{OLD}"]
    assert done.startswith("restored ")


def test_the_admin_restores_a_link_as_a_link_and_in_place(site):
    cfg, home = site
    _restore(cfg, home / "link.py", in_place=True)
    assert os.readlink(home / "link.py") == "/etc/shadow"


def test_in_place_over_something_needs_overwrite_then_replaces_it(site):
    cfg, home = site
    with pytest.raises(ConflictError, match="exists; pass --overwrite"):
        RestoreFromSnapshot(cfg, RestoreRequest(home / "proj", in_place=True)).prepare()
    (home / "proj/extra").write_text("x")
    _restore(cfg, home / "proj", in_place=True, overwrite=True)
    assert sorted(os.listdir(home / "proj")) == ["train.py"]
    assert not [n for n in os.listdir(home) if n.startswith(".datakeeper-restore")]


def test_the_admin_restores_into_a_folder(site, tmp_path):
    cfg, home = site
    (tmp_path / "out").mkdir()
    _restore(cfg, home / "proj", into=tmp_path / "out")
    assert (tmp_path / "out/proj/train.py").read_text() == f"from {NEW}\n"


def test_the_admin_cannot_restore_outside_the_backed_up_folders(site, tmp_path):
    cfg, _home = site
    for path in (Path("/etc/passwd"), tmp_path / "data/apps/x"):
        with pytest.raises(InvalidInputError, match="is not in a backed-up folder"):
            RestoreFromSnapshot(cfg, RestoreRequest(path))
    missing = RestoreFromSnapshot(cfg, RestoreRequest(tmp_path / "data/users/alice/nope"))
    with pytest.raises(InvalidInputError, match="nope is not in this snapshot"):
        missing.prepare()


# -- the command line ------------------------------------------------------------


def _cli(*args: str, monkeypatch, euid: int):
    monkeypatch.setattr("os.geteuid", lambda: euid)
    return CliRunner().invoke(app, ["backup", *args])


def test_restore_needs_a_path_and_into_is_the_admins(monkeypatch):
    nothing = _cli("restore", monkeypatch=monkeypatch, euid=0)
    assert "say what to restore: a PATH, or --everything" in str(nothing.exception)
    both = _cli("restore", "/x", "--into", "/y", "--in-place", monkeypatch=monkeypatch, euid=0)
    assert "--in-place and --into exclude each other" in str(both.exception)
    member = _cli("restore", "/x", "--into", "/y", monkeypatch=monkeypatch, euid=1000)
    assert "--into is for the admin" in str(member.exception)
    assert "browse" in _cli("--help", monkeypatch=monkeypatch, euid=0).output
