"""Shared Miniconda and uv, installed on /data, reached through links the wipe takes."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from tests.support.sandbox import PROJECT_ROOT
from tests.support.software_driver import fake_installer, fake_installer_sha256

pytestmark = pytest.mark.sandbox

PORT = 8765
WWW = "/srv/www"
URL = f"http://127.0.0.1:{PORT}/Miniconda3-fake-Linux-x86_64.sh"
CONDA = "/data/apps/miniconda3"
UV = "/data/apps/uv"
PIP_OFFLINE = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/mnt/wheelhouse"}
LINKS = [
    f"link /etc/profile.d/conda.sh -> {CONDA}/etc/profile.d/conda.sh",
    f"link /usr/local/bin/uv -> {UV}/bin/uv",
    f"link /usr/local/bin/uvx -> {UV}/bin/uvx",
]


def site_config(sha256: str, *, uv: bool = True) -> str:
    return (
        '[storage]\ndata_root = "/data"\n'
        f'[conda]\ninstaller_url = "{URL}"\ninstaller_sha256 = "{sha256}"\n'
        f"download_timeout_seconds = 10\n[uv]\nenabled = {'true' if uv else 'false'}\n"
    )


def converge(server, mode: str, config: str) -> dict:
    """Run the driver inside the server; its JSON outcome plus ``returncode``."""
    argv = [sys.executable, "-m", "tests.support.software_driver", mode, config]
    env = {"PYTHONPATH": str(PROJECT_ROOT), **PIP_OFFLINE}
    result = server.run(argv, env=env, check=False, timeout=600)
    assert result.stdout.strip(), f"driver printed nothing: {result.stderr}"
    outcome = json.loads(result.stdout)
    outcome["returncode"] = result.returncode
    return outcome


def answers(server) -> bool:
    probe = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)"
    return server.run(["python3", "-c", probe, URL], check=False).returncode == 0


def serve_fake_installer(server) -> None:
    """``python3 -m http.server`` in the background inside the server, until it answers."""
    server.run(["mkdir", "-p", WWW, "/data/apps"])
    server.path(URL.replace(f"http://127.0.0.1:{PORT}", WWW)).write_bytes(fake_installer())
    command = f"python3 -m http.server {PORT} --bind 127.0.0.1 --directory {WWW} >/dev/null 2>&1 &"
    server.run(["sh", "-c", command])
    deadline = time.monotonic() + 15
    while not answers(server):
        assert time.monotonic() < deadline, "the http server inside did not start"
        time.sleep(0.1)


def changes(outcome: dict, key: str) -> list[str]:
    assert outcome["returncode"] == 0, outcome
    return [change["change"] for change in outcome[key]]


def test_everyone_gets_conda_and_uv_and_a_wipe_only_takes_the_links(install_server):
    server = install_server
    serve_fake_installer(server)
    config = site_config(fake_installer_sha256())

    assert changes(converge(server, "apply", config), "applied") == [
        f"install Miniconda into {CONDA} from {URL} (SHA-256 verified)",
        LINKS[0],
        f"install uv (uv>=0.4,<1) into {UV}",
        *LINKS[1:],
    ]
    assert changes(converge(server, "plan", config), "planned") == []
    assert server.run(["ls", "-A", "/data/apps"]).stdout.split() == ["miniconda3", "uv"]

    resolved = server.run(["readlink", "-e", "/etc/profile.d/conda.sh"]).stdout.strip()
    assert resolved == f"{CONDA}/etc/profile.d/conda.sh"
    server.run(["useradd", "--create-home", "--shell", "/bin/bash", "bob"])
    shown = server.run(["sh", "-c", "type conda"], user="bob", login=True).stdout
    assert f"{CONDA}/condabin/conda" in shown
    assert server.run(["conda", "--version"], user="bob", login=True).stdout.startswith("conda")
    assert server.run(["uv", "--version"], user="bob").stdout.startswith("uv 0.")
    assert server.run(["uvx", "--version"], user="bob").returncode == 0

    server.reboot()  # ends every process: the http server is gone too
    assert not answers(server)
    for link in ("/etc/profile.d/conda.sh", "/usr/local/bin/uv", "/usr/local/bin/uvx"):
        assert not os.path.lexists(server.path(link))
    assert os.access(server.path(f"{CONDA}/bin/conda"), os.X_OK)
    assert os.access(server.path(f"{UV}/bin/uv"), os.X_OK)

    assert changes(converge(server, "plan", config), "planned") == LINKS
    assert changes(converge(server, "apply", config), "applied") == LINKS
    assert changes(converge(server, "plan", config), "planned") == []
    assert server.run(["uv", "--version"]).stdout.startswith("uv 0.")


def test_a_wrong_hash_installs_nothing(server):
    serve_fake_installer(server)
    outcome = converge(server, "apply", site_config("0" * 64, uv=False))
    assert outcome["returncode"] == 3
    assert outcome["type"] == "RefusedError"
    assert outcome["error"] == (
        f"refusing to run the installer from {URL}: its SHA-256 is {fake_installer_sha256()}, "
        f"expected {'0' * 64}; the download is damaged or not the file the config names"
    )
    assert server.run(["ls", "-A", "/data/apps"]).stdout == ""
    assert not os.path.lexists(server.path("/etc/profile.d/conda.sh"))
