"""install.sh puts the tool on persistent storage, where it survives the wipe."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from datakeeper.trust import guarded_command
from tests.support.sandbox import PROJECT_ROOT
from tests.support.site_setup import (
    check_site,
    failed_checks,
    init_site,
    prepare_site,
)

pytestmark = pytest.mark.sandbox

INSTALL = [str(PROJECT_ROOT / "install.sh"), "--wheels", "/mnt/wheelhouse"]


def test_install_runs_the_tool_and_it_survives_a_reboot(install_server):
    server = install_server
    result = server.run([*INSTALL, "--", "--version"])
    assert result.stdout.strip().endswith("datakeeper 0.1.0")
    assert server.run(["datakeeper", "--version"]).stdout.strip() == "datakeeper 0.1.0"
    current = os.readlink(server.path("/data/apps/datakeeper/current"))
    assert "/data/apps/datakeeper/releases/" in current

    server.reboot()
    assert server.run(["which", "datakeeper"], check=False).returncode != 0  # /usr/local wiped
    persistent = "/data/apps/datakeeper/current/bin/datakeeper"
    assert server.run([persistent, "--version"]).stdout.strip() == "datakeeper 0.1.0"


def test_installed_tree_is_root_owned_and_not_writable_by_others(install_server):
    install_server.run(INSTALL)
    for path in ("/data/apps/datakeeper", "/data/apps/datakeeper/releases"):
        info = os.lstat(install_server.path(path))
        assert info.st_uid == 0
        assert not stat.S_IMODE(info.st_mode) & 0o022


def test_reinstall_switches_release_and_keeps_one_for_rollback(install_server):
    install_server.run(INSTALL)
    install_server.run(INSTALL)
    install_server.run(INSTALL)
    releases = os.listdir(install_server.path("/data/apps/datakeeper/releases"))
    assert len(releases) == 2
    assert install_server.run(["datakeeper", "--version"]).returncode == 0


def test_install_refuses_an_unmounted_data_disk(install_server):
    install_server.reboot(mounted={"/data": False})
    result = install_server.run(INSTALL, check=False)
    assert result.returncode == 3
    assert "/data is not a mount point" in result.stderr
    assert install_server.run(["ls", "-A", "/data"]).stdout == ""


def test_install_refuses_non_root(install_server):
    install_server.run(["useradd", "--create-home", "mallory"])
    result = install_server.run(INSTALL, user="mallory", check=False)
    assert result.returncode == 3
    assert "must be installed by root" in result.stderr


def test_install_rejects_unknown_option(install_server):
    result = install_server.run([*INSTALL, "--prefixx", "/opt"], check=False)
    assert result.returncode == 2
    assert "unknown option '--prefixx'" in result.stderr


def test_install_gives_an_admin_owned_data_root_to_root_and_boot_runs_it(install_server):
    server = install_server
    server.run(["useradd", "--create-home", "ubuntu"])
    server.run(["chown", "ubuntu:ubuntu", "/data"])  # an older datakeeper's layout
    server.run(["chmod", "3775", "/data"])
    result = server.run(INSTALL)
    assert "/data belonged to ubuntu; making it root's" in result.stdout
    assert server.run(["stat", "-c", "%U:%G %a", "/data"]).stdout.split() == ["root:ubuntu", "3775"]
    tool = Path("/data/apps/datakeeper/current/bin/datakeeper")
    booted = server.run(guarded_command(tool, ["--version"]))  # the boot entry's guard
    assert booted.stdout.strip() == "datakeeper 0.1.0"


def test_recover_puts_the_command_back_for_everyone_after_a_wipe(install_server):
    server = install_server
    server.run(INSTALL)
    prepare_site(server)
    init_site(server)
    server.datakeeper("user", "add", "alice", "--yes")
    server.datakeeper("recovery", "enable")
    server.reboot()
    assert server.run(["which", "datakeeper"], check=False).returncode != 0  # /usr/local wiped
    # The README's line for the time before recovery: the copy on /data, by its full path.
    server.run(["/data/apps/datakeeper/current/bin/datakeeper", "recover"])
    assert server.run(["which", "datakeeper"]).stdout.strip() == "/usr/local/bin/datakeeper"
    result = server.run(["datakeeper", "env"], user="alice", login=True, check=False)
    assert result.returncode in (0, 1), result.stderr
    assert "alice" in result.stdout
    assert server.run(["datakeeper", "--version"], user="alice").stdout.startswith("datakeeper ")
    _code, report = check_site(server)
    assert not [line for line in failed_checks(report) if "datakeeper" in line["name"]], report


def test_the_installed_tool_speaks_korean_without_any_extra_tool(install_server):
    """The wheel carries the compiled catalog (built at package build time from the
    .po): no msgfmt or Babel on the server, no ko_KR locale generated."""
    install_server.run(INSTALL)
    release = "/data/apps/datakeeper/current"
    catalogs = install_server.run(
        ["find", f"{release}/", "-name", "datakeeper.mo", "-path", "*/ko/LC_MESSAGES/*"]
    ).stdout.split()
    assert len(catalogs) == 1, catalogs
    korean = install_server.run(
        ["env", "LANG=ko_KR.UTF-8", "datakeeper", "user", "add"], check=False
    )
    english = install_server.run(["env", "LANG=C.UTF-8", "datakeeper", "user", "add"], check=False)
    assert korean.returncode == english.returncode == 2
    assert "Missing argument" in english.stderr
    assert "Missing argument" not in korean.stderr and "datakeeper user add --help" in korean.stderr
    assert install_server.run(["locale", "-a"], check=False).stdout.count("ko_KR") == 0
