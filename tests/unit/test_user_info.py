"""``user list`` / ``user show`` and the handout: typed results whose ``as_dict()`` is the
``--json`` the commands printed before (the same keys, in the same order)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import InvalidInputError
from datakeeper.features.users import info
from datakeeper.features.users.add import AddResult
from datakeeper.features.users.handout import handout
from datakeeper.registry import RegistryDocument, RegistryEntry

ROW_KEYS = [
    "name",
    "uid",
    "groups",
    "shell",
    "home",
    "home_target",
    "home_layout",
    "keys",
    "state",
    "last_login",
    "size_bytes",
]


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch):
    """A site whose registry records bob (no account on this machine) and nobody else."""
    bob = RegistryEntry(name="bob", uid=1501, gid=1501, primary_group="bob", groups=("bob", "lab"))
    document = RegistryDocument(users={"bob": bob})
    monkeypatch.setattr(info, "_document", lambda cfg: document)
    monkeypatch.setattr(info, "_human_accounts", lambda: set())
    monkeypatch.setattr(info.accounts, "user_by_name", lambda name: None)
    monkeypatch.setattr(info, "last_login", lambda name: None)
    text = f'group = "lab"\n[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n'
    return parse_config(text, "test.toml")


def test_list_users_rows_serialise_to_the_same_json_as_before(cfg):
    [row] = info.list_users(cfg)
    assert (row.name, row.uid, row.state, row.size_bytes) == ("bob", 1501, "missing", None)
    data = json.loads(json.dumps([r.as_dict() for r in info.list_users(cfg)]))
    assert list(data[0]) == ROW_KEYS
    assert data[0]["groups"] == ["bob", "lab"] and data[0]["home"] == "/home/bob"


def test_show_user_adds_the_masked_registry_entry_last(cfg):
    details = info.show_user(cfg, "bob")
    data = details.as_dict()
    assert list(data) == [*ROW_KEYS, "registry"]
    assert data["registry"]["uid"] == 1501 and details.name == "bob"


def test_show_user_refuses_an_unknown_name(cfg):
    with pytest.raises(InvalidInputError, match="no such account"):
        info.show_user(cfg, "carol")


def test_handout_as_dict_keeps_the_json_keys_and_the_text(cfg):
    result = AddResult("dana", 1502, True, ["create user dana"], fingerprints=["SHA256:x"])
    sheet = handout(cfg, result, host="gpu1")
    data = sheet.as_dict()
    assert list(data) == [
        "name",
        "uid",
        "host",
        "ssh",
        "private_key_path",
        "private_key",
        "temp_password",
        "key_fingerprints",
        "home",
        "persistent_home",
        "changes",
        "text",
    ]
    assert data["ssh"] == "ssh dana@gpu1" and data["key_fingerprints"] == ["SHA256:x"]
    assert sheet.text[0] == "Account dana (uid 1502) is ready."
    assert data["persistent_home"] == str(cfg.users_dir / "dana")


def test_handout_gives_the_exact_commands_for_the_real_key_file(cfg):
    key = "/data/config/datakeeper/keys/dana_ed25519"
    result = AddResult("dana", 1502, True, [], private_key_path=key)
    sheet = handout(cfg, result, host="gpu1")
    assert sheet.ssh == "ssh -i dana_ed25519 dana@gpu1"
    admin = cfg.admin or "ADMIN"  # the site's admin; this config names none
    assert sheet.text[2:7] == [
        f"Private key: {key} (root-only). Hand it to dana over a secure channel:",
        f"  1. on the server: sudo install -m 600 -o {admin} {key} ~/dana_ed25519",
        f"  2. on your computer: scp {admin}@gpu1:dana_ed25519 . "
        f"&& ssh {admin}@gpu1 rm dana_ed25519",
        "  3. dana keeps it private: chmod 600 dana_ed25519; then: ssh -i dana_ed25519 dana@gpu1",
        f"  4. delete it from the server: sudo shred -u {key}",
    ]
