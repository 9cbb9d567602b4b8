"""`datakeeper init` and `datakeeper check` end to end, with the real system tools."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.support.site_setup import NO_SOFTWARE
from tests.support.site_setup import check_site as _check
from tests.support.site_setup import failed_checks as _failures
from tests.support.site_setup import init_site as _init
from tests.support.site_setup import prepare_site as _prepare

pytestmark = pytest.mark.sandbox

SHARED_CACHES = [
    "/data/models/huggingface/hub",
    "/data/models/torch",
    "/data/cache/conda/pkgs",
    "/data/dataset",
]


@pytest.fixture
def initialized(site):
    """The initialized site of tests/support/server_fixtures.py (its init reported ok)."""
    return site


def test_init_sets_up_everything_and_check_passes(initialized):
    server = initialized
    code, report = _check(server)
    assert _failures(report) == []
    assert code == 0
    assert report["passed"] > 20
    group = server.run(["getent", "group", "gpu-users"]).stdout
    assert "admin" in group.strip().split(":")[3].split(",")


def test_second_init_plans_nothing(initialized):
    report = json.loads(_init(initialized, "--dry-run").stdout)
    assert [s["changes"] for s in report["steps"]] == [[]] * len(report["steps"])
    assert {s["status"] for s in report["steps"]} == {"unchanged"}


def test_storage_and_folders_have_the_configured_owners_and_modes(initialized):
    def mode_owner(path):
        info = os.lstat(initialized.path(path))
        return stat.S_IMODE(info.st_mode), info.st_uid

    admin_uid = int(initialized.run(["id", "-u", "admin"]).stdout)
    # root's, not the admin's: root runs the tools below them (issue 11, item 1)
    assert mode_owner("/data") == (0o3775, 0)
    assert mode_owner("/backup") == (0o3775, 0)
    group = initialized.run(["stat", "-c", "%G", "/data", "/backup"]).stdout.split()
    assert group == ["gpu-users", "gpu-users"]
    assert mode_owner("/data/models/huggingface/hub") == (0o3775, admin_uid)
    assert mode_owner("/data/apps") == (0o2755, 0)  # root runs code from here
    assert mode_owner("/data/config") == (0o2755, 0)
    assert mode_owner("/data/config/datakeeper") == (0o700, 0)


def test_admin_home_moved_to_storage_without_losing_a_byte(initialized):
    server = initialized
    assert os.readlink(server.path("/home/admin")) == "/data/users/admin"
    assert server.run(["cat", "/data/users/admin/thesis.tex"]).stdout == "thesis\n"
    assert server.run(["test", "-d", "/data/users/admin/code"]).returncode == 0
    owner = server.run(["stat", "-c", "%U %a", "/data/users/admin/thesis.tex"]).stdout.split()
    assert owner[0] == "admin"
    condarc = server.run(["cat", "/data/users/admin/.condarc"]).stdout
    assert "/data/cache/conda/pkgs" in condarc


def test_conflicting_files_are_rescued_not_overwritten(server):
    _prepare(server)
    server.run(["mkdir", "-p", "/data/users/admin"])
    server.run(["sh", "-c", "echo persistent > /data/users/admin/thesis.tex"])
    _init(server)
    assert server.run(["cat", "/data/users/admin/thesis.tex"]).stdout == "persistent\n"
    rescued = server.run(["sh", "-c", "cat /data/users/admin/rescued-*/thesis.tex"]).stdout
    assert rescued == "thesis\n"


def test_admin_is_registered_with_group_gid(initialized):
    registry = json.loads(initialized.path("/data/config/datakeeper/registry.json").read_text())
    uid = int(initialized.run(["id", "-u", "admin"]).stdout)
    gid = int(initialized.run(["getent", "group", "gpu-users"]).stdout.split(":")[2])
    assert registry["users"]["admin"]["uid"] == uid
    assert registry["groups"] == {"gpu-users": gid}
    mode = stat.S_IMODE(os.lstat(initialized.path("/data/config/datakeeper/registry.json")).st_mode)
    assert mode == 0o600


def test_global_env_is_exported_with_the_group_umask(initialized):
    server = initialized
    server.run(["useradd", "--create-home", "--groups", "gpu-users", "alice"])
    out = server.run(
        ["sh", "-c", "echo $HF_HOME; echo $CONDA_ENVS_PATH; umask"], user="alice", login=True
    ).stdout.split()
    assert out == ["/data/models/huggingface", "/home/alice/conda/envs", "0002"]
    # every conda reads the system .condarc, root's too: the shared cache is a member's own
    system_condarc = server.run(["cat", "/etc/conda/.condarc"]).stdout
    assert "/data/cache" not in system_condarc and "~/conda/envs" in system_condarc


def test_members_share_files_in_every_shared_cache(initialized):
    server = initialized
    for name in ("alice", "bob"):
        server.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    for cache in SHARED_CACHES:
        server.run(["sh", "-c", f"echo a > {cache}/from-alice"], user="alice", login=True)
        server.run(["sh", "-c", f"echo b >> {cache}/from-alice"], user="bob", login=True)
        assert server.run(["cat", f"{cache}/from-alice"]).stdout == "a\nb\n"
        # the sticky bit: bob cannot delete or rename what alice owns
        denied = server.run(["rm", "-f", f"{cache}/from-alice"], user="bob", check=False)
        assert denied.returncode != 0


def test_members_cannot_write_where_root_runs_code(initialized):
    server = initialized
    server.run(["useradd", "--create-home", "--groups", "gpu-users", "mallory"])
    for path in ("/data/apps", "/data/config"):
        denied = server.run(["touch", f"{path}/evil"], user="mallory", check=False)
        assert denied.returncode != 0


@pytest.mark.parametrize(
    "damage",
    [
        "chmod 00777 /data/models/torch",
        "chmod g-s /data/dataset",
        "echo 'export HF_HOME=/tmp' >> /etc/profile.d/global_envs.sh",
        "chmod g+w /usr/local/sbin/datakeeper-helper",
        "rm /home/admin",
    ],
)
def test_check_fails_on_drift_and_fix_repairs_it(initialized, damage):
    server = initialized
    server.run(["sh", "-c", damage])
    code, report = _check(server)
    assert code == 1
    assert _failures(report)
    code, report = _check(server, "--fix")
    assert _failures(report) == []
    assert code == 0


def test_members_sudo_exactly_the_cleaner_and_df(initialized):
    server = initialized
    server.run(["useradd", "--create-home", "--groups", "gpu-users", "alice"])
    helper = "/usr/local/sbin/datakeeper-helper"
    assert server.run(["sudo", "-n", helper, "cache-clean", "conda"], user="alice").returncode == 0
    assert server.run(["sudo", "-n", "/usr/bin/df", "-h"], user="alice").returncode == 0
    for argv in (["id"], [helper, "cache-clean", "/etc"], [helper, "cache-clean", "conda", "x"]):
        refused = server.run(["sudo", "-n", *argv], user="alice", check=False)
        assert refused.returncode != 0, argv


# -- bad input: one line, non-zero, nothing changed --------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--group", "GPU"], "group"),
        (["--group", "-gpu"], "group"),
        (["--group", "g;id"], "group"),
        (["--group", "g" * 33], "group"),
        (["--admin", "nosuchuser"], "account nosuchuser does not exist"),
        (["--group", "admin"], "is the name of a user account"),
        (["--backup-root", "/etc/hostname"], "not a directory"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(server, flags, message):
    _prepare(server)
    before = server.snapshot()
    argv = ["init", "--admin", "admin", "--yes", *flags]
    if "--admin" in flags:
        argv = ["init", "--yes", *flags]
    result = server.datakeeper(*argv, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("datakeeper: error:"), result.stderr
    assert message in lines[0]
    assert server.snapshot() == before


def test_unmounted_data_root_is_refused_and_ssd_untouched(server):
    server.reboot(mounted={"/data": False})
    server.run(["useradd", "--create-home", "admin"])
    before = server.snapshot()
    result = server.datakeeper("init", "--admin", "admin", "--yes", check=False)
    assert result.returncode == 3
    assert "not a mount point" in result.stderr
    assert server.snapshot() == before
    assert server.run(["ls", "-A", "/data"]).stdout == ""


def test_non_root_is_refused(server):
    _prepare(server)
    result = server.datakeeper("init", "--admin", "admin", "--yes", user="admin", check=False)
    assert result.returncode == 3
    assert "needs root" in result.stderr


def test_no_terminal_and_no_yes_is_refused(server):
    _prepare(server)
    result = server.datakeeper("init", "--admin", "admin", check=False)
    assert result.returncode == 2
    assert "pass --yes" in result.stderr


def test_unreachable_installer_fails_env_but_the_rest_is_reported(server):
    config = (
        "[conda]\nenabled = true\n"
        'installer_url = "http://127.0.0.1:9/Miniconda3.sh"\n'
        f'installer_sha256 = "{"0" * 64}"\n'
        "download_timeout_seconds = 3\n\n[uv]\nenabled = false\n"
    )
    _prepare(server, config)
    result = _init(server, check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    status = {s["key"]: s["status"] for s in report["steps"]}
    assert status["ENV"] == "failed"
    assert status["SUDO"] == "changed"
    env = next(s for s in report["steps"] if s["key"] == "ENV")
    assert any("127.0.0.1:9" in e for e in env["errors"])
    assert server.path("/etc/profile.d/global_envs.sh").exists()


def test_default_acls_make_shared_files_group_writable_whatever_the_umask(server):
    _prepare(server, "acl = true\n" + NO_SOFTWARE)
    _init(server)
    for name in ("alice", "bob"):
        server.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    hub = "/data/models/huggingface/hub"
    server.run(["sh", "-c", f"umask 077; echo a > {hub}/private-umask"], user="alice")
    mode = server.run(["stat", "-c", "%A", f"{hub}/private-umask"]).stdout.strip()
    assert mode == "-rw-rw-r--"
    server.run(["sh", "-c", f"echo b >> {hub}/private-umask"], user="bob")
    code, report = _check(server)
    assert (code, _failures(report)) == (0, [])


def test_a_data_root_mounted_from_the_root_filesystem_is_refused(server):
    server.reboot(mounted={"/data": False})
    server.run(["useradd", "--create-home", "admin"])
    server.run(["mkdir", "-p", "/srv/fake-data"])
    server.run(["mount", "--bind", "/srv/fake-data", "/data"])
    before = server.snapshot()
    result = server.datakeeper("init", "--admin", "admin", "--yes", check=False)
    assert result.returncode == 3
    assert "mounted from the root filesystem" in result.stderr
    assert server.snapshot() == before


def test_setup_can_go_one_step_at_a_time(server):
    """What the menu's wizard does: plan a step, apply it, then the next one."""
    _prepare(server)
    script = (
        "import json, pathlib\n"
        "from datakeeper.config import load_config\n"
        "from datakeeper.features.setup.init import run_setup\n"
        "from datakeeper.features.setup.steps import SetupContext\n"
        "class Quiet:\n"
        "    def __getattr__(self, name): return lambda *a, **k: None\n"
        "path = pathlib.Path('/data/config/datakeeper.toml')\n"
        "cfg = load_config(path).model_copy(update={'admin': 'admin'})\n"
        "ctx = SetupContext(cfg, path)\n"
        "out = {}\n"
        "for key in ('GROUP', 'STORAGE'):\n"
        "    plan = run_setup(ctx, dry_run=True, reporter=Quiet(), only=(key,))\n"
        "    done = run_setup(ctx, dry_run=False, reporter=Quiet(), only=(key,))\n"
        "    out[key] = [plan.steps[0].status, done.steps[0].status, len(done.steps)]\n"
        "print(json.dumps(out))\n"
    )
    result = server.run([__import__("sys").executable, "-c", script])
    report = json.loads(result.stdout)
    assert report == {"GROUP": ["planned", "changed", 1], "STORAGE": ["planned", "changed", 1]}
    assert server.run(["getent", "group", "gpu-users"]).returncode == 0
    assert not server.path("/data/users").exists()  # FOLDERS has not run yet
