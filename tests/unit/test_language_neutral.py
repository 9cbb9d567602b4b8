"""Machine output does not follow the language: the action log's ``code`` and the
``--json`` keys are the same whether the sentences are English or Korean."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import pwd
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import datakeeper.resources
from datakeeper import i18n
from datakeeper.cli.app import app
from datakeeper.config import parse_config
from datakeeper.engine import Change, Executor, Resource, session
from datakeeper.engine.codes import CODE_PATTERN, operation, resource_kind
from datakeeper.engine.effects import AbsentAt
from datakeeper.features.check.run import run_checks
from datakeeper.features.disk.usage import disk_report
from datakeeper.features.setup.sudo import HelperFile
from datakeeper.features.users import info
from datakeeper.registry import RegistryDocument, RegistryEntry
from datakeeper.resources.directory import Directory
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.seed import SeedFile
from datakeeper.resources.symlink import Symlink

KOREAN = "번역 "  # what the fake catalog puts before every sentence
CODES = ["directory.create", "symlink.create", "seed_file.create"]


def _all_resource_classes() -> set[type[Resource]]:
    for module in pkgutil.iter_modules(datakeeper.resources.__path__):
        importlib.import_module(f"datakeeper.resources.{module.name}")
    found, todo = set(), [Resource]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("datakeeper.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


@pytest.fixture
def korean(monkeypatch) -> None:
    """Sentences in "Korean" for the whole test (``speak_korean``)."""
    speak_korean(monkeypatch)


def speak_korean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``_()`` and ``ngettext()`` of the loaded datakeeper modules answers in
    "Korean" (the sentence behind a Korean word), as a Korean catalog would."""

    def gettext(message: str) -> str:
        return KOREAN + message

    def ngettext(singular: str, plural: str, count: int) -> str:
        return KOREAN + (singular if count == 1 else plural)

    fakes = {i18n._: gettext, i18n.ngettext: ngettext}
    for name, module in list(sys.modules.items()):
        if not name.startswith("datakeeper"):
            continue
        for attribute in ("_", "ngettext"):
            fake = fakes.get(getattr(module, attribute, None))
            if fake is not None:
                monkeypatch.setattr(module, attribute, fake)


def _mine() -> Ownership:
    me = pwd.getpwuid(os.geteuid())
    return Ownership(me.pw_name, me.pw_name, 0o750)


def _resources(root: Path) -> list[Resource]:
    return [
        Directory(root / "shared", _mine()),
        Symlink(root / "link", root / "shared"),
        SeedFile(root / "shared" / ".hpcrc", b"# notes\n", _mine()),
    ]


def _planned(root: Path) -> list[Change]:
    return Executor(dry_run=True).converge(_resources(root)).planned


def _keys(value: Any) -> Iterator[str]:
    """Every dictionary key in ``value``, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_every_resource_kind_yields_a_dotted_english_code():
    classes = _all_resource_classes() | {HelperFile}
    shapes = [
        Change("r", "s", lambda: None),
        Change("r", "s", lambda: None, None, {"mode": "0750"}),
        Change("r", "s", lambda: None, {"mode": "0700"}, {"mode": "0750"}),
        Change("r", "s", lambda: None, {"keys": ["k"]}, None),
        Change("r", "s", lambda: None, effects=(AbsentAt(Path("/x")),)),
        Change("r", "s", lambda: None, operation="lock"),
    ]
    assert len(classes) > 30
    for cls in classes:
        for shape in shapes:
            code = f"{resource_kind(cls)}.{operation(shape)}"
            assert CODE_PATTERN.fullmatch(code), (cls, code)
    kinds = {cls.__name__: resource_kind(cls) for cls in classes}
    assert kinds["UserAccount"] == "account"
    assert (kinds["Directory"], kinds["SystemdUnits"], kinds["HelperFile"]) == (
        "directory",
        "systemd_units",
        "helper_file",
    )


def test_the_executor_gives_each_change_its_code(tmp_path):
    planned = _planned(tmp_path)
    assert [c.code for c in planned] == CODES
    assert planned[0].as_dict()["code"] == "directory.create"


def test_codes_are_the_same_when_the_sentences_are_korean(tmp_path, korean):
    planned = _planned(tmp_path)
    assert all(c.summary.startswith(KOREAN) for c in planned)  # the sentences did change
    assert [c.code for c in planned] == CODES


@pytest.mark.skipif(os.geteuid() != 0, reason="log show is root's")
def test_log_show_json_keeps_the_code_of_each_change(tmp_path, monkeypatch, korean):
    monkeypatch.setattr(session, "StorageGuard", lambda roots: lambda paths: None)
    config = tmp_path / "site.toml"
    config.write_text(f'[storage]\ndata_root = "{tmp_path}"\nbackup_root = ""\n')
    cfg = parse_config(config.read_text(), str(config))
    session.converge(cfg, _resources(tmp_path), dry_run=False, on_change=None)
    result = CliRunner().invoke(app, ["--config", str(config), "log", "show", "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [e["code"] for e in entries] == CODES
    assert entries[0]["change"].startswith(KOREAN)


def _site(root: Path):
    text = (
        f'group = "lab"\n[storage]\ndata_root = "{root}"\nbackup_root = ""\n'
        "[conda]\nenabled = false\n[uv]\nenabled = false\n"
    )
    return parse_config(text, "site.toml")


def _machine_outputs(root: Path) -> dict[str, Any]:
    """What ``check --json``, ``disk --json`` and ``user list --json`` print, as data."""
    cfg = _site(root)
    return json.loads(
        json.dumps(
            {
                "check": run_checks(cfg, root / "site.toml").as_dict(),
                "disk": disk_report(cfg, jobs=1).as_dict(),
                "users": [row.as_dict() for row in info.list_users(cfg)],
            },
            default=str,
        )
    )


@pytest.fixture
def one_registered_user(monkeypatch) -> None:
    bob = RegistryEntry(name="bob", uid=1501, gid=1501, primary_group="bob", groups=("bob", "lab"))
    monkeypatch.setattr(info, "_document", lambda cfg: RegistryDocument(users={"bob": bob}))
    monkeypatch.setattr(info, "_human_accounts", lambda: set())
    monkeypatch.setattr(info.accounts, "user_by_name", lambda name: None)
    monkeypatch.setattr(info, "last_login", lambda name: None)


def test_json_keys_do_not_follow_the_language(tmp_path, monkeypatch, one_registered_user):
    (tmp_path / "models").mkdir()
    english = _machine_outputs(tmp_path)
    with monkeypatch.context() as patch:
        speak_korean(patch)
        translated = _machine_outputs(tmp_path)
    assert KOREAN in json.dumps(translated, ensure_ascii=False)  # sentences did change
    assert list(_keys(translated)) == list(_keys(english))
    assert not [key for key in _keys(translated) if KOREAN.strip() in key]
    assert english["users"] and english["check"]["results"]
