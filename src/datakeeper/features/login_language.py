"""Texts members read at login, in the reader's language rather than root's.

Root writes the ``/etc/profile.d`` scripts once, for every member, often from a
session in another language than theirs. So a message a login prints is
written in every language datakeeper has a catalog for (English, the source,
and Korean), each from the catalog, and the login shell picks one: the first
of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that names a
language (the order gettext reads them, and ``datakeeper.i18n``'s rule: a
``C`` or ``POSIX`` locale names none; ``LANGUAGE`` is a list, its first
language with a catalog wins; a language without one reads English); when
none does, the site default, the config's ``language``.

A comment block cannot switch at login: it is written in the site default,
with the English line beside each translated one (``comment_lines``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping

from datakeeper.i18n import LANGUAGES, SOURCE_LANGUAGE, translation_for

Gettext = Callable[[str], str]
# Shell variables of the chooser; unset again by ``forget_sh``.
CHOOSER_VARIABLES = ("_dk_lang", "_dk_v", "_dk_named", "_dk_rest", "_dk_part")


def catalogs() -> dict[str, Gettext]:
    """Each language's ``gettext``, the source language first."""
    return {code: translation_for(code).gettext for code in LANGUAGES}


def in_each_language(
    render: Callable[[Gettext], str], languages: Mapping[str, Gettext] | None = None
) -> dict[str, str]:
    """``render`` (a text built from message ids) in each language, keyed by its code."""
    found = catalogs() if languages is None else languages
    return {code: render(gettext) for code, gettext in found.items()}


def choose_language_sh(site_default: str, indent: str = "") -> str:
    """POSIX sh that sets ``_dk_lang`` to the login's language code (see the module)."""
    arms = "".join(
        f"{indent}        {_glob(code)}|{_glob(code)}[_.@-]*) _dk_lang={code} ;;\n"
        for code in LANGUAGES
    )
    return _CHOOSER.format(
        i=indent, arms=arms, source=SOURCE_LANGUAGE, default=shlex.quote(site_default)
    )


def pick_sh(variable: str, texts: Mapping[str, str], indent: str = "") -> str:
    """POSIX sh that sets ``variable`` to the text in ``$_dk_lang`` (the source language's
    when the others say the same or have no translation yet)."""
    source = texts[SOURCE_LANGUAGE]
    others = {code: text for code, text in texts.items() if text != source}
    if not others:
        return f"{indent}{variable}={shlex.quote(source)}\n"
    lines = [f"{indent}case $_dk_lang in\n"]
    lines += [
        f"{indent}{code}) {variable}={shlex.quote(text)} ;;\n" for code, text in others.items()
    ]
    lines += [f"{indent}*) {variable}={shlex.quote(source)} ;;\n", f"{indent}esac\n"]
    return "".join(lines)


def forget_sh(variables: tuple[str, ...], indent: str = "") -> str:
    """``unset`` of the chooser's variables and ``variables``: the script is sourced
    into the login shell, which must not keep them."""
    return f"{indent}unset {' '.join((*CHOOSER_VARIABLES, *variables))}\n"


def comment_lines(
    message: str, language: str, languages: Mapping[str, Gettext] | None = None
) -> list[str]:
    """``# message`` in ``language``, with the English line after it when that differs."""
    found = catalogs() if languages is None else languages
    source = found[SOURCE_LANGUAGE](message)
    translated = found.get(language, found[SOURCE_LANGUAGE])(message)
    return [f"# {translated}"] + ([f"# {source}"] if translated != source else [])


def _glob(code: str) -> str:
    """``[Kk][Oo]``: a case pattern for ``code`` in either case, as i18n lowercases it."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in code)


# gettext's order; the first variable naming a language decides. Each is read as a
# colon-separated list (only LANGUAGE holds several in practice).
_CHOOSER = """\
{i}_dk_lang=
{i}for _dk_v in "${{LANGUAGE-}}" "${{LC_ALL-}}" "${{LC_MESSAGES-}}" "${{LANG-}}"; do
{i}    _dk_named=
{i}    _dk_rest=$_dk_v:
{i}    while [ -z "$_dk_lang" ] && [ -n "$_dk_rest" ]; do
{i}        _dk_part=${{_dk_rest%%:*}}
{i}        _dk_rest=${{_dk_rest#*:}}
{i}        case $_dk_part in
{i}        ''|C|C[._@]*|POSIX|POSIX[._@]*) ;;
{arms}{i}        *) _dk_named=1 ;;
{i}        esac
{i}    done
{i}    [ -z "$_dk_lang" ] && [ -n "$_dk_named" ] && _dk_lang={source}
{i}    [ -n "$_dk_lang" ] && break
{i}done
{i}[ -n "$_dk_lang" ] || _dk_lang={default}
"""
