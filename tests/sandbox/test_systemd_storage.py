"""Issue 14, item 4, with real mount units: /data and /backup are ext4 images that the
server's own /etc/fstab mounts (``nofail``, as a cloud image would). A failed /backup
leaves recovery running and bringing the accounts back (status and check warn); a failed
/data stops recovery, and the journal says why."""

from __future__ import annotations

import json

import pytest

from tests.support.boot_image import prepared_image
from tests.support.sandbox import StorageSpec
from tests.support.server_fixtures import INSTALL, boot_server
from tests.support.site_setup import add_linked_member, init_site, prepare_site

pytestmark = [pytest.mark.sandbox, pytest.mark.systemd]

SERVICE = "datakeeper-recovery.service"
MEMBERS = ["ann", "bob", "cid"]
HEAD = 64 * 1024  # the ext4 superblock lies in the first 64 KiB


@pytest.fixture
def fstab_site(tmp_path, wheelhouse):
    """A systemd server whose storage its /etc/fstab mounts; the tool installed on /data,
    init, three registered members, recovery enabled."""
    data = StorageSpec("/data", kind="ext4", size_mb=512, by_fstab=True)
    backup = StorageSpec("/backup", kind="ext4", size_mb=64, by_fstab=True)
    fstab = {"/etc/fstab": {"content": data.fstab_line() + backup.fstab_line()}}
    binds = {"/mnt/wheelhouse": str(wheelhouse)}
    options = {"init": "systemd", "ssd": "ext4", "image_files": fstab}
    for server in boot_server(tmp_path, [data, backup], binds, **options):
        assert server.run(["findmnt", "-n", "-o", "SOURCE", "/data"]).stdout.strip()
        server.run(INSTALL)
        prepare_site(server)
        init_site(server)
        for name in MEMBERS:
            add_linked_member(server, name)
            server.run(["datakeeper", "user", "register", name])
        server.run(["datakeeper", "recovery", "enable"])
        server.image_files = prepared_image(server, fstab)  # every later boot: a full wipe
        yield server


def _break(server, target: str) -> bytes:
    """Zero the image's superblock (its mount then fails); the bytes to restore it.
    The server is stopped first: an unmount would write the superblock back."""
    server.stop()
    with open(server.storage_image(target), "r+b") as image:
        head = image.read(HEAD)
        image.seek(0)
        image.write(bytes(HEAD))
    return head


def _restore(server, target: str, head: bytes) -> None:
    server.stop()
    with open(server.storage_image(target), "r+b") as image:
        image.write(head)


def _state(server, unit: str) -> str:
    argv = ["systemctl", "show", unit, "--property=ActiveState", "--value"]
    return server.run(argv).stdout.strip()


def _accounts(server) -> list[str]:
    found = [server.run(["getent", "passwd", n], check=False).returncode == 0 for n in MEMBERS]
    return [name for name, present in zip(MEMBERS, found, strict=True) if present]


def test_a_failed_backup_disk_warns_and_a_failed_data_disk_stops_recovery(fstab_site):
    server = fstab_site
    head = _break(server, "/backup")
    server.reboot(wipe=True)
    assert _state(server, "backup.mount") == "failed"
    assert _state(server, SERVICE) == "active", server.journal("-u", SERVICE)
    assert _accounts(server) == MEMBERS
    status = json.loads(server.run(["datakeeper", "--json", "recovery", "status"]).stdout)
    assert [w.split(":")[0] for w in status["warnings"]] == ["/backup"]
    shown = server.run(["datakeeper", "recovery", "status"]).stdout
    assert "Warning: /backup: the backup disk is not mounted" in shown
    check = json.loads(server.run(["datakeeper", "--json", "check"], check=False).stdout)
    lines = {(r["group"], r["subject"]): r for r in check["results"]}
    assert lines["PERSISTENT", "/backup"]["status"] == "WARN"
    assert [r for r in check["results"] if r["status"] == "FAIL"] == []

    _restore(server, "/backup", head)
    _break(server, "/data")
    server.reboot(wipe=True)
    assert _state(server, "data.mount") == "failed"
    assert _state(server, SERVICE) == "inactive"
    assert _accounts(server) == []
    journal = server.journal()
    assert "Dependency failed for datakeeper-recovery.service" in journal, journal[-3000:]
