"""The initial setup's answers and defaults, shared by ``datakeeper init`` and the menu."""

from __future__ import annotations

from pathlib import Path

import pytest

from datakeeper.features.setup import answers
from datakeeper.features.setup.answers import default_answers, resolve_answers
from datakeeper.features.setup.config_file import NO_BACKUP, Answers
from datakeeper.tui.features import Features


@pytest.fixture
def sudo_alice(monkeypatch, tmp_path: Path) -> Path:
    """init run by ``sudo`` from alice, on a machine with a /backup directory."""
    monkeypatch.setenv("SUDO_USER", "alice")
    backup = tmp_path / "backup"
    backup.mkdir()
    monkeypatch.setattr(answers, "DEFAULT_BACKUP", backup)
    return backup


def test_a_new_config_defaults_to_gpu_users_the_sudo_user_data_and_backup(sudo_alice, tmp_path):
    got = resolve_answers(tmp_path / "new.toml", Answers())
    assert got == Answers("gpu-users", "alice", "/data", str(sudo_alice))


def test_without_a_backup_directory_or_sudo_user_the_defaults_say_none(monkeypatch, tmp_path):
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setattr(answers, "DEFAULT_BACKUP", tmp_path / "absent")
    assert default_answers() == Answers("gpu-users", None, "/data", NO_BACKUP)


def test_given_values_win_and_none_in_any_case_means_no_backup(sudo_alice, tmp_path):
    got = resolve_answers(tmp_path / "new.toml", Answers(group="lab", backup_root="NONE"))
    assert (got.group, got.admin, got.backup_root) == ("lab", "alice", NO_BACKUP)


def test_an_existing_config_keeps_the_files_values(sudo_alice, tmp_path):
    existing = tmp_path / "old.toml"
    existing.write_text('group = "lab"\nadmin = "carol"\n')
    assert resolve_answers(existing, Answers()) == Answers()
    assert resolve_answers(existing, Answers(backup_root="none")) == Answers(backup_root="")


def test_init_asks_only_what_was_not_given_with_the_default_shown(sudo_alice, tmp_path):
    asked = []

    def ask(question: str, default: str) -> str:
        asked.append((question, default))
        return "none" if "Backup" in question else default

    got = resolve_answers(tmp_path / "new.toml", Answers(group="lab"), ask=ask)
    assert asked == [
        ("Admin account", "alice"),
        ("Data root (persistent disk)", "/data"),
        ("Backup root ('none' for no backup)", str(sudo_alice)),
    ]
    assert got == Answers("lab", "alice", "/data", NO_BACKUP)


def test_the_word_none_means_no_backup_only_for_the_backup_root(sudo_alice, tmp_path):
    got = resolve_answers(tmp_path / "new.toml", Answers(), ask=lambda q, d: "none")
    assert (got.group, got.backup_root) == ("none", NO_BACKUP)


def test_the_menu_fills_its_form_with_inits_defaults(sudo_alice, tmp_path):
    assert Features(tmp_path / "new.toml").setup_defaults() == default_answers()


def test_a_hand_written_config_without_admin_takes_the_sudo_user(sudo_alice, tmp_path):
    config = tmp_path / "site.toml"
    config.write_text('group = "lab"\n[conda]\nenabled = false\n')
    assert resolve_answers(config, Answers()) == Answers(admin="alice")


def test_a_hand_written_config_without_admin_asks_for_it(monkeypatch, tmp_path):
    monkeypatch.delenv("SUDO_USER", raising=False)
    config = tmp_path / "site.toml"
    config.write_text('group = "lab"\n')
    asked = []

    def ask(question: str, default: str) -> str:
        asked.append((question, default))
        return "bob"

    assert resolve_answers(config, Answers(), ask=ask) == Answers(admin="bob")
    assert asked == [("Admin account", "")]


def test_a_config_with_an_admin_asks_nothing(sudo_alice, tmp_path):
    config = tmp_path / "site.toml"
    config.write_text('admin = "carol"\n')
    assert resolve_answers(config, Answers(), ask=lambda *_: "never") == Answers()
