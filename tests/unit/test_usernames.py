"""Account names are validated by datakeeper itself (useradd accepts far too much)."""

from __future__ import annotations

import pytest

from datakeeper.config import parse_config
from datakeeper.errors import InvalidInputError
from datakeeper.features.users.names import check_new_username, check_username_syntax

CFG = parse_config('group = "gpu-users"\n', "test")
SYNTAX = 'use lowercase letters, digits, "_" and "-", starting with a letter or "_"'

BAD_SYNTAX = [
    "Alice", "ALICE", "aLice", "1abc", "9", "-alice", "-", "a.b", ".", "..", "a/b", "/etc",
    "a b", " alice", "alice ", "a;id", "a&&b", "a|b", "$(id)", "a$b", "`id`", "a`b", "a\nb",
    "a\tb", "a\x00b", "é", "naïve", "a:b", "a,b", "a*", "a?", "~a", "a'b", 'a"b', "a\\b",
    "a=b", "a+b", "a@b", "a#b", "a%b", "(a)", "a>b",
]  # fmt: skip


@pytest.mark.parametrize("name", BAD_SYNTAX)
def test_unsafe_names_are_refused_with_the_rule(name):
    with pytest.raises(InvalidInputError) as caught:
        check_username_syntax(name)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith('user name "') and SYNTAX in message


def test_empty_name():
    with pytest.raises(InvalidInputError, match=r"^user name: empty"):
        check_username_syntax("")


def test_name_over_32_characters():
    with pytest.raises(InvalidInputError, match="33 characters, at most 32 allowed"):
        check_username_syntax("a" * 33)


@pytest.mark.parametrize("name", ["alice", "kim_j", "_svc", "a", "a-b", "x1", "a" * 32])
def test_good_names_pass(name):
    check_username_syntax(name)


@pytest.mark.parametrize("name", ["root", "daemon", "nobody", "sshd", "sudo", "docker", "users"])
def test_reserved_names_are_refused(name):
    with pytest.raises(InvalidInputError, match="reserved for the system"):
        check_new_username(name, CFG)


def test_the_site_group_is_not_a_user_name():
    with pytest.raises(InvalidInputError, match="that is the site group"):
        check_new_username("gpu-users", CFG)


def test_an_existing_system_account_is_refused():
    # "mail" is reserved; "_apt" exists on Debian with a system uid
    with pytest.raises(InvalidInputError, match="system account"):
        check_new_username("_apt", CFG)
