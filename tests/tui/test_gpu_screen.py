"""The GPUs screen: the admin sees every process and the totals per user; a researcher
every GPU's load, their own processes, and the others' as counts; no GPU: one line."""

from __future__ import annotations

import pytest

from tests.tui.conftest import press, running, screen_text

pytestmark = pytest.mark.asyncio

ADMIN_KEYS = ("end", "enter")  # GPUs is the last entry of the admin menu
USER_KEYS = ("6",)


async def test_the_admin_sees_every_process_and_the_totals(features):
    async with running(features, admin=True) as pilot:
        await press(pilot, *ADMIN_KEYS)
        text = screen_text(pilot.app)
    assert "GPU 0  NVIDIA A100-SXM4-80GB  61°C  312 W" in text
    assert " 97%" in text and "52.0 GiB of 80.0 GiB" in text
    for shown in ("alice", "carol", "train.py", "(outside this pid namespace)", "unknown"):
        assert shown in text, shown
    assert "Per user" in text
    assert features.called("gpu_view") == [((), {"mine_only": False})]


async def test_a_researcher_sees_only_their_processes_and_counts(features):
    async with running(features, admin=False) as pilot:
        await press(pilot, *USER_KEYS)
        text = screen_text(pilot.app)
    assert "Your processes" in text and "train.py" in text and "jupyter" in text
    assert "alice" not in text and "carol" not in text and "torchrun" not in text
    assert "GPU 0: 1 process" in text and "GPU 1: 2 processes" in text
    assert "GPU 1  NVIDIA A100-SXM4-80GB" in text  # every GPU's load all the same
    assert features.called("gpu_view") == [((), {"mine_only": True})]


@pytest.mark.parametrize(("admin", "keys"), [(True, ADMIN_KEYS), (False, USER_KEYS)])
async def test_without_a_gpu_the_screen_says_so_in_one_line(features, admin, keys):
    features.gpus_missing = True
    async with running(features, admin=admin) as pilot:
        await press(pilot, *keys)
        text = screen_text(pilot.app)
    assert "no NVIDIA GPU or driver found on this server" in text
    assert "GPU 0" not in text


async def test_r_looks_again(features):
    async with running(features, admin=True) as pilot:
        await press(pilot, *ADMIN_KEYS, "r")
    assert len(features.called("gpu_view")) == 2
