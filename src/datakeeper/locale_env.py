"""Which language the locale variables ask for: one rule for the tool and its sudo helper.

Standard library only and reading no file, so the sudo helper inlines it (see
``features/setup/sudo.py``) and ``datakeeper.i18n`` imports it: both read the
locale as gettext does, with nothing to drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SOURCE_LANGUAGE = "en"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order
_NOT_A_LANGUAGE = frozenset({"c", "posix"})


def language_code(value: str) -> str | None:
    """``ko_KR.UTF-8`` -> ``ko``; ``C``, ``POSIX`` and empty -> None (no language named)."""
    base = value.strip().split(".", 1)[0].split("@", 1)[0]
    code = base.replace("-", "_").split("_", 1)[0].lower()
    return None if not code or code in _NOT_A_LANGUAGE else code


def asked_language(environ: Mapping[str, str], known: Iterable[str]) -> str | None:
    """The language the locale variables ask for, or None when they name none.

    The first variable that names a language decides. ``LANGUAGE`` is a list
    (``fr:ko:en``); its first entry in ``known`` wins. A language asked for that
    is not ``known`` reads as English, as gettext falls back to the source strings.
    """
    known = tuple(known)
    for variable in LOCALE_VARIABLES:
        parts = environ.get(variable, "").split(":")
        wanted = [code for code in map(language_code, parts) if code]
        if wanted:
            return next((code for code in wanted if code in known), SOURCE_LANGUAGE)
    return None
