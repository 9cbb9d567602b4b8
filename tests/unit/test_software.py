"""Miniconda and uv installs against a local HTTP server and local wheels; no network."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import shutil
import socket
import stat
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.support.software_driver import fake_installer, fake_installer_sha256

from datakeeper.config import parse_config
from datakeeper.errors import CommandError, ConfigError, ConflictError, RefusedError
from datakeeper.features.recovery.recover import site_steps
from datakeeper.features.setup.software import software_resources
from datakeeper.resources import Symlink
from datakeeper.resources.software import MinicondaInstall, UvInstall, system_python

PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    """A folder served on 127.0.0.1 (see ``base_url``)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root.joinpath(".port").write_text(str(server.server_address[1]))
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()


def base_url(served: Path) -> str:
    return f"http://127.0.0.1:{served.joinpath('.port').read_text()}"


@pytest.fixture
def apps(tmp_path: Path) -> Path:
    """``<storage>/apps``: a root-only folder (the test user's, when not root)."""
    folder = tmp_path / "data" / "apps"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    return folder


def conda_install(apps: Path, url: str, sha256: str, timeout: float = 5) -> MinicondaInstall:
    return MinicondaInstall(apps / "miniconda3", url, sha256, timeout, storage_root=apps.parent)


def serve_installer(served: Path, content: bytes = b"") -> str:
    served.joinpath("installer.sh").write_bytes(content or fake_installer())
    return base_url(served) + "/installer.sh"


def apply(resource) -> None:
    for change in resource.plan():
        change.action()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- Miniconda -----------------------------------------------------------------


def test_install_verifies_runs_and_then_plans_nothing(served: Path, apps: Path) -> None:
    url = serve_installer(served)
    resource = conda_install(apps, url, fake_installer_sha256())
    [change] = resource.plan()
    assert change.summary == (
        f"install Miniconda into {apps}/miniconda3 from {url} (SHA-256 verified)"
    )
    change.action()
    conda = apps / "miniconda3" / "bin" / "conda"
    assert os.access(conda, os.X_OK)
    assert (apps / "miniconda3" / "etc" / "profile.d" / "conda.sh").is_file()
    assert not stat.S_IMODE(os.stat(apps / "miniconda3").st_mode) & 0o022
    assert resource.plan() == []
    assert os.listdir(apps) == ["miniconda3"]  # the downloaded installer is gone


def test_wrong_hash_refuses_before_running_anything(served: Path, apps: Path) -> None:
    url = serve_installer(served)
    resource = conda_install(apps, url, "0" * 64)
    with pytest.raises(RefusedError) as caught:
        apply(resource)
    assert str(caught.value) == (
        f"refusing to run the installer from {url}: its SHA-256 is {fake_installer_sha256()}, "
        f"expected {'0' * 64}; the download is damaged or not the file the config names"
    )
    assert os.listdir(apps) == []


def test_unreachable_url_fails_quickly_with_one_line(apps: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/installer.sh"
    started = time.monotonic()
    with pytest.raises(CommandError) as caught:
        apply(conda_install(apps, url, fake_installer_sha256()))
    assert time.monotonic() - started < 5
    assert str(caught.value) == (
        f"cannot download {url}: connection refused; check the URL and the network"
    )
    assert os.listdir(apps) == []


def test_a_server_that_never_answers_times_out(apps: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # connections wait in the backlog; nobody ever answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/installer.sh"
        started = time.monotonic()
        with pytest.raises(CommandError) as caught:
            apply(conda_install(apps, url, fake_installer_sha256(), timeout=1))
    assert time.monotonic() - started < 10
    assert str(caught.value) == (
        f"cannot download {url}: timed out after 1 s; check the URL and the network"
    )
    assert os.listdir(apps) == []


def test_missing_file_names_the_http_status(served: Path, apps: Path) -> None:
    url = base_url(served) + "/absent.sh"
    with pytest.raises(CommandError) as caught:
        apply(conda_install(apps, url, fake_installer_sha256()))
    assert str(caught.value) == (
        f"cannot download {url}: HTTP error 404 File not found; check the URL and the network"
    )
    assert os.listdir(apps) == []


FAILING = b'#!/bin/bash\nmkdir -p "$3/bin"\necho "disk full, pretend" >&2\nexit 1\n'
SILENT = b'#!/bin/bash\nmkdir -p "$3/lib"\n'


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (FAILING, "failed (exit 1): disk full, pretend"),
        (SILENT, "installer finished but {prefix}/bin/conda is missing or not executable"),
    ],
    ids=["installer-fails", "no-conda-made"],
)
def test_a_failed_install_removes_the_half_made_prefix(
    served: Path, apps: Path, script: bytes, message: str
) -> None:
    url = serve_installer(served, script)
    resource = conda_install(apps, url, hashlib.sha256(script).hexdigest())
    with pytest.raises(CommandError) as caught:
        apply(resource)
    assert message.format(prefix=apps / "miniconda3") in str(caught.value)
    assert os.listdir(apps) == []


def test_an_existing_prefix_without_conda_is_a_conflict(apps: Path) -> None:
    (apps / "miniconda3").mkdir()
    with pytest.raises(ConflictError) as caught:
        conda_install(apps, "http://127.0.0.1:9/x.sh", fake_installer_sha256()).plan()
    assert str(caught.value) == (
        f"{apps}/miniconda3 exists but has no bin/conda: it is not an install datakeeper "
        "can finish; move it away and run again"
    )


def test_a_folder_others_can_write_above_the_prefix_is_a_conflict(apps: Path) -> None:
    apps.chmod(0o775)
    with pytest.raises(ConflictError) as caught:
        conda_install(apps, "http://127.0.0.1:9/x.sh", fake_installer_sha256()).plan()
    assert str(caught.value) == (
        f"{apps} must be a directory owned by root and writable by nobody else: root runs "
        f"what is installed in {apps}/miniconda3; fix it with chown root and chmod go-w, "
        "then run again"
    )


def test_an_empty_hash_is_reported_before_any_download(apps: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        conda_install(apps, "http://127.0.0.1:9/x.sh", "").plan()
    assert str(caught.value) == (
        "conda.installer_sha256 is empty: set it to the SHA-256 published next to the installer"
    )


# -- uv ------------------------------------------------------------------------


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_uv_wheel(folder: Path, version: str = "0.4.99") -> Path:
    """A tiny wheel named uv whose scripts ``uv`` and ``uvx`` print a version."""
    files = {
        f"uv-{version}.data/scripts/{name}": f"#!/bin/sh\necho '{name} {version}'\n".encode()
        for name in ("uv", "uvx")
    }
    info = f"uv-{version}.dist-info"
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: uv\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
    files[f"{info}/WHEEL"] += b"Tag: py3-none-any\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"uv-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name)
            entry.external_attr = (stat.S_IFREG | (0o755 if "/scripts/" in name else 0o644)) << 16
            archive.writestr(entry, data)
    return wheel


@pytest.fixture
def local_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip sees only this folder (no index)."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    for name in [n for n in os.environ if n.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def test_uv_plan_names_the_requirement_and_prefix(apps: Path) -> None:
    resource = UvInstall(apps / "uv", "uv>=0.4,<1", storage_root=apps.parent)
    [change] = resource.plan()
    assert change.summary == f"install uv (uv>=0.4,<1) into {apps}/uv"


def test_uv_already_there_plans_nothing(apps: Path) -> None:
    uv = apps / "uv" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text("#!/bin/sh\n")
    uv.chmod(0o755)
    assert UvInstall(apps / "uv", "uv", storage_root=apps.parent).plan() == []


needs_system_python = pytest.mark.skipif(
    shutil.which("python3", path="/usr/bin:/bin") is None, reason="no python3 in /usr/bin"
)


@needs_system_python
def test_uv_installs_into_its_own_environment(apps: Path, local_wheels: Path) -> None:
    make_uv_wheel(local_wheels)
    resource = UvInstall(apps / "uv", "uv>=0.4,<1", storage_root=apps.parent)
    apply(resource)
    for name in ("uv", "uvx"):
        assert os.access(apps / "uv" / "bin" / name, os.X_OK)
    assert os.readlink(apps / "uv" / "bin" / "python3").startswith(("/usr/bin/", "/bin/", "python"))
    assert resource.plan() == []


@needs_system_python
def test_uv_that_pip_cannot_find_leaves_no_prefix(apps: Path, local_wheels: Path) -> None:
    with pytest.raises(CommandError) as caught:
        apply(UvInstall(apps / "uv", "uv>=0.4,<1", storage_root=apps.parent))
    assert "-m pip install --disable-pip-version-check 'uv>=0.4,<1' failed" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert os.listdir(apps) == []


def test_system_python_comes_from_the_os_image() -> None:
    if shutil.which("python3", path="/usr/bin:/bin") is None:
        with pytest.raises(CommandError, match="install the OS packages python3"):
            system_python()
    else:
        assert system_python() in ("/usr/bin/python3", "/bin/python3")


# -- composition ---------------------------------------------------------------


def test_software_resources_follow_the_config(tmp_path: Path) -> None:
    cfg = parse_config('[storage]\ndata_root = "/srv/data"', "t")
    resources = software_resources(cfg, profile_dir=tmp_path / "p", bin_dir=tmp_path / "b")
    assert [r.id for r in resources] == [
        "miniconda /srv/data/apps/miniconda3",
        f"symlink {tmp_path}/p/conda.sh",
        "uv /srv/data/apps/uv",
        f"symlink {tmp_path}/b/uv",
        f"symlink {tmp_path}/b/uvx",
    ]
    conda, profile, uv, link, _uvx = resources
    assert isinstance(conda, MinicondaInstall) and conda.timeout == 60.0
    assert conda.storage_root == uv.storage_root == Path("/srv/data")
    assert isinstance(profile, Symlink)
    assert profile.target == Path("/srv/data/apps/miniconda3/etc/profile.d/conda.sh")
    assert link.target == Path("/srv/data/apps/uv/bin/uv")
    assert conda.touches() == (Path("/srv/data/apps/miniconda3"),)


def test_default_links_are_the_system_paths() -> None:
    ids = [r.id for r in software_resources(parse_config("", "t"))]
    assert "symlink /etc/profile.d/conda.sh" in ids
    assert "symlink /usr/local/bin/uvx" in ids


def test_disabled_software_gives_no_resources() -> None:
    cfg = parse_config("[conda]\nenabled = false\n[uv]\nenabled = false\n", "t")
    assert software_resources(cfg) == []
    only_uv = parse_config("[conda]\nenabled = false\n", "t")
    assert [type(r).__name__ for r in software_resources(only_uv)] == [
        "UvInstall",
        "Symlink",
        "Symlink",
    ]


def test_recovery_puts_the_datakeeper_command_back_for_everyone(tmp_path: Path) -> None:
    """A wipe takes /usr/local/bin/datakeeper; recover's ENV step links it again."""
    tool = tmp_path / "apps/datakeeper/current/bin/datakeeper"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\n")
    cfg = parse_config(f'admin = "ubuntu"\n[storage]\ndata_root = "{tmp_path}"', "t")
    env = next(s for s in site_steps(cfg, tmp_path / "c.toml") if s.key == "ENV")
    links = [r for r in env.resources if r.id == "symlink /usr/local/bin/datakeeper"]
    assert len(links) == 1 and links[0].target == tool
