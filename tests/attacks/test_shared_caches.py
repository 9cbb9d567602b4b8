"""Issue 11, item 5: shared caches are no code channel between members, nor into root's shell.

As alice (a member), against bob (another member) and root: the shared caches
are group-writable, so whatever root's shell or bob's programs load from them
is only as safe as the least careful member. Root's login shell must not point
at them, and a model bob downloaded must not be changeable by alice, while two
members downloading the same model at once keep working through
huggingface_hub's own file locks (a real ``hf_hub_download`` against a fake Hub
on the server's loopback, tests/support/fake_hub.py).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
import time

import pytest

from tests.support.fake_hub import COMMIT, FILES, REPO
from tests.support.sandbox import PROJECT_ROOT

HUB = "/data/models/huggingface/hub"
REPO_DIR = f"{HUB}/models--{REPO.replace('/', '--')}"
PORT = 18080
PIDFILE = "/run/fake-hub.pid"
WEIGHTS = "model.safetensors"
WEIGHTS_BLOB = f"{REPO_DIR}/blobs/{hashlib.sha256(FILES[WEIGHTS]).hexdigest()}"
SHARED = ("HF_HOME", "HF_HUB_CACHE", "TORCH_HOME", "CONDA_PKGS_DIRS")


@pytest.fixture
def members(site):
    """The initialized site with two members, alice and bob."""
    for name in ("alice", "bob"):
        site.run(["useradd", "--create-home", "--groups", "gpu-users", name])
    return site


@pytest.fixture
def hub(members):
    """The fake Hub serving on the server's loopback; ended by its pid afterwards."""
    serve = f"{shlex.quote(sys.executable)} -m tests.support.fake_hub {PORT} {PIDFILE}"
    members.run(["sh", "-c", f"cd {PROJECT_ROOT} && {serve} </dev/null >/dev/null 2>&1 &"])
    members.run(["sh", "-c", f"for i in $(seq 100); do [ -s {PIDFILE} ] && exit; sleep 0.1; done"])
    yield members
    members.run(["sh", "-c", f"kill $(cat {PIDFILE})"], check=False)


def _download_script(files: tuple[str, ...]) -> str:
    """A member's login-shell command: once both members' Pythons are ready (a barrier of
    files in /tmp), hf_hub_download ``files``; print a json of their sha256 (read back
    through the cache) and the hub cache used."""
    code = f"""
import hashlib, json, os, pathlib, time
from huggingface_hub import hf_hub_download
pathlib.Path("/tmp/ready-" + os.environ["USER"]).touch()
deadline = time.time() + 30
while not all(os.path.exists("/tmp/ready-" + n) for n in ("alice", "bob")):
    assert time.time() < deadline, "the other member never got ready"
    time.sleep(0.01)
paths = [hf_hub_download({REPO!r}, f) for f in {files!r}]
sha = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]
print(json.dumps({{"cache": os.environ.get("HF_HUB_CACHE"), "sha": sha}}))
"""
    env = f"HF_ENDPOINT=http://127.0.0.1:{PORT} HF_HUB_DISABLE_XET=1 PYTHONPATH={PROJECT_ROOT}"
    return f"env {env} {shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _download_together(server, files: tuple[str, ...]) -> dict[str, dict]:
    """alice and bob run ``hf_hub_download`` at the same time, each in a login shell."""
    script = shlex.quote(_download_script(files))
    both = " ".join(
        f"(runuser -l {name} -c {script} > /tmp/{name}.out 2>&1; echo $? >> /tmp/{name}.out) &"
        for name in ("alice", "bob")
    )
    server.run(["sh", "-c", f"rm -f /tmp/ready-*; {both} wait"], timeout=180)
    _assert_overlapped(server, files[-1])
    results = {}
    for name in ("alice", "bob"):
        *output, status = server.run(["cat", f"/tmp/{name}.out"]).stdout.splitlines()
        assert status == "0", f"{name}'s download failed:\n" + "\n".join(output)
        results[name] = json.loads(output[-1])
    return results


def _assert_overlapped(server, name: str) -> None:
    """Both members asked for ``name`` before its one download had finished: the second
    waited on huggingface_hub's lock instead of finding the file already there."""
    requests = _requests_for(server, name)
    server.run(["rm", f"{PIDFILE}.log"])
    heads = [float(began) for method, _path, began, _ended in requests if method == "HEAD"]
    gets = [float(ended) for method, _path, _began, ended in requests if method == "GET"]
    assert len(heads) == 2 and len(gets) == 1 and max(heads) < gets[0], requests


def _requests_for(server, name: str) -> list[list[str]]:
    """The fake hub's log lines for ``name``, split, once its GET is logged: the hub
    writes that line after the last chunk, a moment after the client may have
    returned (a client that finished first once saw the log without it)."""
    deadline = time.monotonic() + 10
    while True:
        log = server.run(["cat", f"{PIDFILE}.log"]).stdout.splitlines()
        requests = [line.split() for line in log if line.split()[1].endswith(f"/{name}")]
        if any(method == "GET" for method, *_rest in requests) or time.monotonic() > deadline:
            return requests
        time.sleep(0.05)


def _as_other_member(server, path: str, code: str):
    """Run ``code`` as the member (alice or bob) who does not own ``path``."""
    owner = server.run(["stat", "-c", "%U", path]).stdout.strip()
    attacker = "bob" if owner == "alice" else "alice"
    return server.run([sys.executable, "-c", code], user=attacker, check=False)


def test_root_login_shell_gets_no_member_writable_cache(members):
    echo = "; ".join(f"echo {name}=${name}" for name in SHARED) + "; umask"
    root = members.run(["sh", "-c", echo], user="root", login=True).stdout.splitlines()
    assert root == [f"{name}=" for name in SHARED] + ["0022"]
    alice = members.run(["sh", "-c", echo], user="alice", login=True).stdout.splitlines()
    assert "HF_HOME=/data/models/huggingface" in alice and alice[-1] == "0002"
    # every conda, root's included, reads the system .condarc: no shared package cache there
    assert "/data/cache" not in members.run(["cat", "/etc/conda/.condarc"]).stdout


def test_member_cannot_modify_or_replace_another_members_downloaded_weights(hub):
    want = [hashlib.sha256(FILES[name]).hexdigest() for name in ("config.json", WEIGHTS)]
    first = _download_together(hub, ("config.json", WEIGHTS))
    assert first["alice"] == first["bob"] == {"cache": HUB, "sha": want}
    fixed = hub.datakeeper("--yes", "check", "--fix", check=False)  # also: init, recover

    appended = _as_other_member(
        hub, WEIGHTS_BLOB, f"open({WEIGHTS_BLOB!r}, 'ab').write(b'pickle payload')"
    )
    assert appended.returncode != 0 and "Permission denied" in appended.stderr
    replaced = _as_other_member(
        hub, WEIGHTS_BLOB, f"import os; os.unlink({WEIGHTS_BLOB!r})"
    )  # then write her own
    assert replaced.returncode != 0
    relinked = _as_other_member(
        hub, WEIGHTS_BLOB, f"import os; os.unlink('{REPO_DIR}/snapshots/{COMMIT}/{WEIGHTS}')"
    )
    assert relinked.returncode != 0
    moved = _as_other_member(
        hub, WEIGHTS_BLOB, f"import os; os.rename({REPO_DIR!r}, {REPO_DIR + '.old'!r})"
    )  # then plant a whole repo of her own
    assert moved.returncode != 0
    assert hashlib.sha256(hub.path(WEIGHTS_BLOB).read_bytes()).hexdigest() == want[1]
    assert f"under {HUB}" in fixed.stdout  # the admin sees the seal in check --fix's plan

    # Still shared: both download a new file into the sealed repo at once, and the
    # lock files one of them created are usable by the other.
    second = _download_together(hub, (WEIGHTS, "tokenizer.json"))
    tokenizer = hashlib.sha256(FILES["tokenizer.json"]).hexdigest()
    assert second["alice"]["sha"] == second["bob"]["sha"] == [want[1], tokenizer]
