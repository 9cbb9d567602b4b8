"""contrib/ansible's role on one wiped node, as an admin runs it: ``ansible-playbook -c local``.

The node has datakeeper on its shared disk (install.sh), a site and a member, and
has just lost its SSD. A check run (``--check``) changes nothing; the first real run
joins the node (``node join``): the command, the accounts and the boot path come
back, and the cluster report is written; the second (``recover``) reports
``changed=0``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.sandbox import PROJECT_ROOT, DisposableServer
from tests.support.server_fixtures import INSTALL
from tests.support.site_setup import check_site, failed_checks, init_site, prepare_site

pytestmark = pytest.mark.sandbox

# The host's ansible (the test extra) is seen inside the server, like the checkout.
PLAYBOOK = [str(Path(sys.executable).with_name("ansible-playbook")), "-c", "local"]
SITE = str(PROJECT_ROOT / "contrib" / "ansible" / "site.yml")
INVENTORY = "/root/inventory.ini"
REPORT = "/root/cluster-report.json"
RECAP = re.compile(r"^localhost\s+:\s+(.*)$", re.MULTILINE)


@pytest.fixture
def wiped_node(install_server) -> tuple[DisposableServer, str]:
    """A node whose SSD was just wiped: datakeeper, the site and alice live on /data only;
    and alice's uid."""
    server = install_server
    server.run(INSTALL)
    prepare_site(server)
    init_site(server)
    server.datakeeper("user", "add", "alice", "--yes")
    uid = server.run(["id", "-u", "alice"]).stdout.strip()
    server.run(["datakeeper", "recovery", "enable"])
    server.reboot()
    inventory = "[datakeeper_nodes]\nlocalhost ansible_python_interpreter=/usr/bin/python3\n"
    server.run(["sh", "-c", f"cat > {INVENTORY} <<'EOF'\n{inventory}EOF"])
    return server, uid


def play(server: DisposableServer, *options: str, fails: bool = False) -> dict[str, Any]:
    """Run site.yml on the node: the counts of its PLAY RECAP line, and its ``output``.

    ``fails``: the play must end with a failed node (ansible-playbook exits 2)."""
    argv = [*PLAYBOOK, "-i", INVENTORY, "-e", f"datakeeper_node_report_path={REPORT}", *options]
    result = server.run([*argv, SITE], env={"ANSIBLE_NOCOLOR": "1"}, check=False, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == (2 if fails else 0), output
    recap = RECAP.findall(result.stdout)
    assert len(recap) == 1, output
    counts = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", recap[0])}
    return {**counts, "output": output}


def joined(server: DisposableServer) -> list[str]:
    """The nodes ``datakeeper node list`` shows."""
    result = server.run(["/data/apps/datakeeper/current/bin/datakeeper", "--json", "node", "list"])
    return [node["hostname"] for node in json.loads(result.stdout)["nodes"]]


def test_the_role_recovers_a_wiped_node_and_a_second_run_changes_nothing(wiped_node):
    server, uid = wiped_node
    assert server.run(["id", "alice"], check=False).returncode != 0

    dry = play(server, "--check")
    assert dry["changed"] > 0 and dry["failed"] == 0, dry
    assert server.run(["id", "alice"], check=False).returncode != 0  # --check changed nothing
    assert not server.path("/usr/local/bin/datakeeper").is_symlink()
    assert joined(server) == []

    first = play(server)
    assert first["changed"] > 0 and first["failed"] == 0, first
    assert server.run(["id", "-u", "alice"]).stdout.strip() == uid
    assert joined(server) == ["dk-sandbox"]  # node join ran: the node has its record
    link = "/data/apps/datakeeper/current/bin/datakeeper"
    assert server.run(["readlink", "/usr/local/bin/datakeeper"]).stdout.strip() == link
    status = json.loads(server.run(["datakeeper", "--json", "recovery", "status"]).stdout)
    assert status["enabled"] and all(f["present"] and f["current"] for f in status["files"])
    assert not failed_checks(check_site(server)[1])
    report = json.loads(server.path(REPORT).read_text())
    assert report["ok"] and report["not_reported"] == [], report
    node = report["nodes"]["localhost"]
    assert node["version"] == "datakeeper 0.1.0" and node["recovery_ok"], node
    assert node["check"]["ok"] and node["check"]["failed"] == 0, node
    assert oct(server.path(REPORT).stat().st_mode & 0o777) == "0o600"

    second = play(server)
    assert second["changed"] == 0 and second["failed"] == 0, second
    assert json.loads(server.path(REPORT).read_text()) == report


def test_a_node_that_cannot_recover_an_account_is_reported_then_failed(wiped_node):
    server, uid = wiped_node
    server.run(["useradd", "--uid", uid, "mallory"])  # a local account took alice's uid

    result = play(server, fails=True)
    assert result["failed"] == 1, result
    assert "datakeeper recover: 1 user recovered, 0 already right, 1 skipped" in result["output"]
    report = json.loads(server.path(REPORT).read_text())
    node = report["nodes"]["localhost"]
    assert not report["ok"] and not node["recovery_ok"] and node["skipped"] == ["alice"], report
    assert server.run(["id", "-un", uid]).stdout.strip() == "mallory"  # nothing guessed
