"""Users (list with drift, details) and Delete user (preview, choice, typed confirmation)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from datakeeper.errors import RefusedError
from datakeeper.features.users.remove.removal import RemoveRequest
from tests.tui.conftest import press, running, screen_text, type_text
from tests.tui.fakes import USERS, removal_sentences

pytestmark = pytest.mark.asyncio


async def test_users_lists_every_account_with_its_registry_state(features):
    async with running(features) as pilot:
        await press(pilot, "7")
        text = screen_text(pilot.app)
        assert "admin  1000" in text and "registered" in text
        assert "bob    1001" in text and "drift: shell" in text


async def test_enter_shows_everything_about_a_user(features):
    async with running(features) as pilot:
        await press(pilot, "7", "down", "enter")
        assert features.called("show_user")[0][0][1] == "bob"
        text = screen_text(pilot.app)
        assert "SHA256:abc" in text and "/bin/zsh" in text
        assert "groups       bob, gpu-users" in text and "last_login   Mon Jan 1" in text
        await press(pilot, "escape")
        assert type(pilot.app.screen).__name__ == "UsersScreen"


async def _pick_bob(pilot) -> None:
    await press(pilot, "4", "enter")  # bob is the first (the admin is not offered)


async def test_delete_offers_neither_the_admin_nor_unregistered_accounts(features):
    stray = replace(USERS[1], name="ubuntu", uid=1100, state="unregistered")
    features.list_users = lambda cfg: [*USERS, stray]
    async with running(features) as pilot:
        await press(pilot, "4")
        table = pilot.app.screen.query_one("#users")
        assert [str(key.value) for key in table.rows] == ["bob"]


async def test_a_wrong_name_typed_to_confirm_says_so(features):
    async with running(features) as pilot:
        await _pick_bob(pilot)
        pilot.app.screen.query_one("#confirm-name").focus()
        await type_text(pilot, "rob")
        await press(pilot, "enter")
        assert "type the name bob exactly to confirm (you typed rob)" in screen_text(pilot.app)
        assert features.called("remove_user") == []


async def test_removal_shows_size_groups_and_sessions_and_keeps_data_by_default(features):
    async with running(features) as pilot:
        await _pick_bob(pilot)
        text = screen_text(pilot.app)
        assert "Remove bob (uid 1001" in text and "bob, gpu-users" in text
        assert "5.0 MiB allocated, 12 files" in text and "sessions:   none" in text
        assert "kept at /data/users/bob" in text
        assert features.called("preview_removal")[0][0][0] == RemoveRequest(
            "bob", "keep", False, features.called("preview_removal")[0][0][0].stamp
        )


async def test_remove_needs_the_typed_name_then_removes(features):
    async with running(features) as pilot:
        await _pick_bob(pilot)
        remove = pilot.app.screen.query_one("#remove")
        assert remove.disabled
        pilot.app.screen.query_one("#confirm-name").focus()
        await type_text(pilot, "bo")
        assert remove.disabled
        await type_text(pilot, "b")
        assert not remove.disabled
        await pilot.click("#remove")
        await press(pilot)
        [(args, _kw)] = features.called("remove_user")
        assert (args[0].name, args[0].data) == ("bob", "keep")
        text = screen_text(pilot.app)
        assert "bob removed (1 change); their data is at /data/users/bob" in text
        assert remove.disabled  # done: it cannot run twice


async def test_archive_is_previewed_and_passed_on(features):
    async with running(features) as pilot:
        await _pick_bob(pilot)
        pilot.app.screen.query_one("#data").focus()
        await press(pilot, "right", "enter")
        assert features.called("preview_removal")[-1][0][0].data == "archive"
        assert "ARCHIVED to /backup/archive/bob-20240101" in screen_text(pilot.app)
        pilot.app.screen.query_one("#confirm-name").focus()
        await type_text(pilot, "bob")
        await pilot.click("#remove")
        await press(pilot)
        assert features.called("remove_user")[0][0][0].data == "archive"


async def test_purge_also_needs_the_word_delete(features):
    async with running(features) as pilot:
        await _pick_bob(pilot)
        pilot.app.screen.query_one("#data").focus()
        await press(pilot, "right", "right", "enter")
        assert "DELETED for good" in screen_text(pilot.app)
        pilot.app.screen.query_one("#confirm-name").focus()
        await type_text(pilot, "bob")
        remove = pilot.app.screen.query_one("#remove")
        assert remove.disabled
        pilot.app.screen.query_one("#confirm-purge").focus()
        await type_text(pilot, "DELETE")
        assert not remove.disabled
        await pilot.click("#remove")
        await press(pilot)
        assert features.called("remove_user")[0][0][0].data == "purge"
        assert "their data was deleted" in screen_text(pilot.app)


async def test_a_refused_removal_is_shown_and_the_list_stays(features):
    features.fail["preview_removal"] = RefusedError(
        "admin is the site admin (admin in the site config)"
    )
    async with running(features) as pilot:
        await press(pilot, "4", "enter")
        assert "Error: admin is the site admin" in screen_text(pilot.app)
        assert pilot.app.screen.query_one("#remove").disabled
        assert features.called("remove_user") == []


async def test_a_logged_in_user_can_have_their_sessions_ended_first(features):
    features.logged_in = True
    async with running(features) as pilot:
        await _pick_bob(pilot)
        assert "pts/1 10.0.0.5" in screen_text(pilot.app)
        kill = pilot.app.screen.query_one("#kill")
        assert kill.display and "[ ] End their sessions" in screen_text(pilot.app)
        kill.focus()
        await press(pilot, "space")
        assert "[x] End their sessions" in screen_text(pilot.app)
        pilot.app.screen.query_one("#confirm-name").focus()
        await type_text(pilot, "bob")
        await pilot.click("#remove")
        await press(pilot)
        assert features.called("remove_user")[0][0][0].kill_sessions is True


async def test_the_whole_removal_works_from_the_keyboard(features):
    async with running(features) as pilot:
        await _pick_bob(pilot)
        await press(pilot, "tab")
        await type_text(pilot, "bob")
        await press(pilot, "tab", "enter")
        assert features.called("remove_user")[0][0][0].name == "bob"


@pytest.mark.parametrize(("data", "arrows"), [("keep", 0), ("archive", 1), ("purge", 2)])
async def test_the_confirmation_lists_the_engines_plan(features, data, arrows):
    async with running(features) as pilot:
        await _pick_bob(pilot)
        if arrows:
            pilot.app.screen.query_one("#data").focus()
            await press(pilot, *["right"] * arrows, "enter")
        [request], _kw = features.called("plan_removal")[-1]
        assert request.data == data
        shown = pilot.app.screen.query_one("#preview").text.splitlines()
        changes = shown[shown.index("Changes:") + 1 :]
        assert changes == [f"  - {s}" for s in removal_sentences(data, False)]


async def test_ending_sessions_plans_again_and_shows_it(features):
    features.logged_in = True
    async with running(features) as pilot:
        await _pick_bob(pilot)
        assert "end 1 process" not in pilot.app.screen.query_one("#preview").text
        pilot.app.screen.query_one("#kill").focus()
        await press(pilot, "space")
        assert features.called("plan_removal")[-1][0][0].kill_sessions is True
        assert "  - end 1 process of bob" in pilot.app.screen.query_one("#preview").text
        assert len(features.called("preview_removal")) == 1  # not looked at again
