"""Add user: the name is checked as typed; groups, key, shell; summary; handout."""

from __future__ import annotations

import pytest

from datakeeper.errors import ConflictError
from tests.tui.conftest import press, running, screen_text, type_text

pytestmark = pytest.mark.asyncio


async def test_the_name_is_checked_as_it_is_typed(features):
    async with running(features) as pilot:
        await press(pilot, "3")
        await type_text(pilot, "Bad;")
        assert '✗ user name "Bad;": use lowercase letters' in screen_text(pilot.app)
        await press(pilot, "ctrl+a", "ctrl+k")
        await type_text(pilot, "alice")
        assert "✓ valid name" in screen_text(pilot.app)


async def _fill(pilot) -> None:
    """alice, full name, group lab, a generated rsa key, zsh."""
    await press(pilot, "3")
    await type_text(pilot, "alice")
    await press(pilot, "tab")
    await type_text(pilot, "Alice Kim")
    await press(pilot, "tab", "down", "space")  # groups: docker, [lab]
    await press(pilot, "tab", "enter")  # key: generate a pair (already chosen)
    await press(pilot, "tab", "right", "enter")  # key type: rsa
    await press(pilot, "tab", "right", "enter")  # shell: zsh


async def test_review_shows_the_summary_and_create_adds_the_user_and_shows_the_handout(features):
    async with running(features) as pilot:
        await _fill(pilot)
        await press(pilot, "ctrl+s")
        assert features.called("add_user") == []  # nothing before the answer
        text = screen_text(pilot.app)
        assert "Create alice?" in text and "groups:    gpu-users, lab" in text
        assert "shell:     zsh" in text and "ssh key:   rsa" in text
        assert "home:      /home/alice -> /data/users/alice" in text
        await press(pilot, "y")
        [(args, kwargs)] = features.called("add_user")
        request = args[0]
        assert kwargs == {"dry_run": False}
        assert (request.name, request.gecos, request.groups) == ("alice", "Alice Kim", ("lab",))
        assert (request.generate_key, request.shell, request.public_keys) == ("rsa", "zsh", None)
        text = screen_text(pilot.app)
        assert type(pilot.app.screen).__name__ == "HandoutScreen"
        assert "ssh -i alice_rsa alice@gpu1.example" in text
        assert "/data/config/datakeeper/keys/alice_rsa (root-only)" in text
        assert "SHA256:fakefingerprint" in text
        await press(pilot, "escape")
        assert type(pilot.app.screen).__name__ == "MenuScreen"


async def test_declining_the_summary_creates_nothing(features):
    async with running(features) as pilot:
        await _fill(pilot)
        await press(pilot, "ctrl+s", "n")
        assert features.called("add_user") == []
        assert type(pilot.app.screen).__name__ == "UserAddScreen"


async def test_an_invalid_name_never_reaches_the_summary(features):
    async with running(features) as pilot:
        await press(pilot, "3")
        await type_text(pilot, "-x")
        await press(pilot, "ctrl+s")
        assert 'Error: user name "-x"' in screen_text(pilot.app)
        assert type(pilot.app.screen).__name__ == "UserAddScreen"


async def test_a_pasted_public_key_is_passed_on(features):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFake bob@laptop"
    async with running(features) as pilot:
        await press(pilot, "3")
        await type_text(pilot, "bob")
        await press(pilot, "tab", "tab", "tab", "right", "enter", "tab")  # key: paste
        pilot.app.screen.query_one("#pubkeys").insert(key)
        await press(pilot, "ctrl+s", "y")
        [(args, _kw)] = features.called("add_user")
        assert args[0].public_keys == key and args[0].generate_key is None


async def test_no_key_and_a_temporary_password(features):
    async with running(features) as pilot:
        await press(pilot, "3")
        await type_text(pilot, "carol")
        await press(pilot, "tab", "tab", "tab", "right", "right", "enter")  # key: none
        await press(pilot, "tab", "tab", "space")  # shell, then the temp password box
        await press(pilot, "ctrl+s", "y")
        [(args, _kw)] = features.called("add_user")
        assert args[0].public_keys is None and args[0].generate_key is None
        assert args[0].temp_password is True and args[0].shell == "bash"


async def test_a_refusal_is_shown_and_nothing_is_created(features):
    features.fail["add_user"] = ConflictError("account bob already exists; pass --env-only")
    async with running(features) as pilot:
        await press(pilot, "3")
        await type_text(pilot, "bob")
        await press(pilot, "ctrl+s", "y")
        assert "Error: account bob already exists" in screen_text(pilot.app)
        assert type(pilot.app.screen).__name__ == "UserAddScreen"
