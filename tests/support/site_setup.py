"""A datakeeper site inside a disposable server, set up the way an admin would.

Shared by the sandbox tests (``tests/support/server_fixtures.py`` builds its ``site``
fixture from these): the admin account with a home on the SSD, a site config,
``datakeeper init``, and members whose homes link into ``/data/users``.
"""

from __future__ import annotations

import json
import subprocess

from tests.support.sandbox import DisposableServer

# Miniconda and uv need a download; their own tests serve them on loopback.
NO_SOFTWARE = "[conda]\nenabled = false\n\n[uv]\nenabled = false\n"
ADMIN = "admin"
GROUP = "gpu-users"


def prepare_site(server: DisposableServer, config: str = NO_SOFTWARE) -> None:
    """An admin account with an SSD home (a file and a folder in it), and the site config."""
    server.run(["useradd", "--create-home", "--shell", "/bin/bash", ADMIN])
    server.run(["sh", "-c", "echo thesis > ~/thesis.tex; mkdir ~/code"], user=ADMIN, login=True)
    server.run(["mkdir", "-p", "/data/config"])
    server.run(["sh", "-c", f"cat > /data/config/datakeeper.toml <<'EOF'\n{config}EOF"])


def init_site(
    server: DisposableServer, *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    """``datakeeper --json init --admin admin --yes`` plus ``args``, inside ``server``."""
    return server.datakeeper("--json", "init", "--admin", ADMIN, "--yes", *args, check=check)


def add_linked_member(
    server: DisposableServer, name: str, *, login_shell: str | None = None
) -> None:
    """A member of the group whose ``/home/NAME`` links to its own 0750 ``/data/users/NAME``."""
    options = ["-s", login_shell] if login_shell else []
    server.run(["useradd", "-M", "-d", f"/home/{name}", *options, "-G", GROUP, name])
    server.run(["install", "-d", "-o", name, "-g", name, "-m", "0750", f"/data/users/{name}"])
    server.run(["ln", "-s", f"/data/users/{name}", f"/home/{name}"])


def check_site(server: DisposableServer, *args: str, check: bool = False) -> tuple[int, dict]:
    """``datakeeper --json check`` plus ``args``: its exit code and its report."""
    result = server.datakeeper("--json", "check", *args, check=check)
    return result.returncode, json.loads(result.stdout[result.stdout.index("{") :])


def failed_checks(report: dict) -> list[dict]:
    """The FAIL lines of a ``check`` report."""
    return [line for line in report["results"] if line["status"] == "FAIL"]
