"""The menu's contract: the real ``Features`` and the tests' ``FakeFeatures`` have exactly
the methods of ``MenuFeatures``, each with the same parameters (names, kinds, defaults).

A method added to, removed from or changed on one of them but not the others fails
here, so the screens tested with the fake call what the real menu offers.
"""

from __future__ import annotations

import inspect

import pytest

from datakeeper.tui.contract import MenuFeatures
from datakeeper.tui.features import Features
from tests.tui.fakes import FakeFeatures

FAKE_HELPERS = {"called"}  # the fake's own helper for the tests, not part of the contract


def _methods(cls: type) -> dict[str, inspect.Signature]:
    """The public methods of ``cls`` (its own and inherited), with their signatures."""
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in FAKE_HELPERS
    }


def _parameters(signature: inspect.Signature) -> list[tuple[str, str, object]]:
    """What a caller relies on: each parameter's name, kind and default (not annotations,
    which the fake may state more precisely)."""
    return [(p.name, p.kind.name, p.default) for p in signature.parameters.values()]


def differences(cls: type) -> list[str]:
    """How ``cls`` departs from ``MenuFeatures``, one sentence each (none: it satisfies it)."""
    wanted, have = _methods(MenuFeatures), _methods(cls)
    found = [f"{name}: missing" for name in sorted(wanted.keys() - have.keys())]
    found += [f"{name}: not in the contract" for name in sorted(have.keys() - wanted.keys())]
    for name in sorted(wanted.keys() & have.keys()):
        if _parameters(wanted[name]) != _parameters(have[name]):
            found.append(f"{name}{have[name]}: the contract says {name}{wanted[name]}")
    return found


@pytest.mark.parametrize("cls", [Features, FakeFeatures], ids=["Features", "FakeFeatures"])
def test_the_real_and_the_fake_features_satisfy_the_menus_contract(cls):
    assert differences(cls) == []


def test_the_contract_lists_what_the_screens_call():
    assert {"run_setup", "run_checks", "add_user", "list_users", "clean_caches"} <= set(
        _methods(MenuFeatures)
    )


def test_a_method_added_or_changed_on_one_side_only_is_reported():
    class Drifted(Features):
        def list_users(self, cfg, *, sizes: bool = False):  # a parameter the fake lacks
            return []

        def export_users(self, cfg):  # a method the contract lacks
            return []

    assert differences(Drifted) == [
        "export_users: not in the contract",
        "list_users(self, cfg, *, sizes: 'bool' = False): "
        "the contract says list_users(self, cfg: 'SiteConfig') -> 'list[UserSummary]'",
    ]


def test_a_method_missing_from_one_side_is_reported():
    class Partial:
        check_username = Features.check_username

    assert "run_setup: missing" in differences(Partial)
    assert "check_username: missing" not in differences(Partial)
