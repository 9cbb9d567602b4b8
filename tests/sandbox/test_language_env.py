"""The reader's language reaches datakeeper: an ssh login carries ``LANG`` (the image's
own sshd settings accept it) and ``sudo`` keeps ``LANG``, ``LANGUAGE`` and ``LC_*`` for
the admin, the sudo policy datakeeper installs included."""

from __future__ import annotations

import pytest

from tests.support.site_setup import ADMIN
from tests.support.sshd import ssh_login, sshd_log, start_sshd

pytestmark = pytest.mark.sandbox

KEY = "/root/admin-key"
KOREAN = {"LANG": "ko_KR.UTF-8", "LANGUAGE": "ko", "LC_MESSAGES": "ko_KR.UTF-8"}


def _image_accept_env(server) -> str:
    """The ``AcceptEnv`` lines of the image's /etc/ssh/sshd_config: what the distribution
    ships and every wipe brings back (datakeeper writes no sshd settings)."""
    text = server.path("/etc/ssh/sshd_config").read_text()
    return "".join(f"{line}\n" for line in text.splitlines() if line.startswith("AcceptEnv"))


def _admin_key(server) -> None:
    server.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", KEY])
    public = server.run(["cat", f"{KEY}.pub"]).stdout
    ssh_dir = f"/home/{ADMIN}/.ssh"
    server.run(["install", "-d", "-o", ADMIN, "-g", ADMIN, "-m", "0700", ssh_dir])
    server.run(["sh", "-c", f"cat > {ssh_dir}/authorized_keys"], input=public)
    server.run(["chown", f"{ADMIN}:{ADMIN}", f"{ssh_dir}/authorized_keys"])
    server.run(["chmod", "0600", f"{ssh_dir}/authorized_keys"])


def _variables(output: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {name: value for name, value in pairs if name in KOREAN}


def test_an_ssh_login_sending_lang_sees_it_in_its_session(site):
    accepted = _image_accept_env(site)
    assert "LANG" in accepted.split(), accepted
    start_sshd(site, extra=accepted)
    _admin_key(site)
    result = ssh_login(
        site, ADMIN, KEY, "env", options=["SendEnv=LANG LC_*"], env={"LANG": "ko_KR.UTF-8"}
    )
    assert result.returncode == 0, f"{result.stderr}\n--- sshd log ---\n{sshd_log(site)}"
    assert _variables(result.stdout)["LANG"] == "ko_KR.UTF-8"


def test_sudo_keeps_the_admins_language_with_datakeepers_policy_installed(site):
    assert site.path("/etc/sudoers.d").is_dir() and any(site.path("/etc/sudoers.d").iterdir())
    rule = f"{ADMIN} ALL=(root) NOPASSWD: /usr/bin/env\n"
    site.run(["sh", "-c", "cat > /etc/sudoers.d/zz-test-admin-env"], input=rule)
    site.run(["chmod", "0440", "/etc/sudoers.d/zz-test-admin-env"])
    site.run(["visudo", "-c"])
    result = site.run(["sudo", "-n", "-u", "root", "/usr/bin/env"], user=ADMIN, env=KOREAN)
    assert _variables(result.stdout) == KOREAN
