"""Translation of user-facing text: English source strings, Korean catalog.

Every string a person reads goes through ``_()`` (or ``ngettext()`` when it
holds a count). Catalogs are compiled gettext files under
``datakeeper/locale/<lang>/LC_MESSAGES/datakeeper.mo``, built from the ``.po``
sources when the package is built (``scripts/i18n compile``).

Which language: ``--lang`` on the command line, else the first of
``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set (the order
gettext reads them), else the site config's ``language``, else English. A
``C`` or ``POSIX`` locale names no language, so the site default applies:
that is what a login without a locale carries. A language we have no
catalog for falls back to English, the source language.

``setlocale`` is never called: the catalog is read straight from its file,
so Korean works on a server where ``ko_KR.UTF-8`` was never generated, and a
missing locale can never make the tool fail. The catalog is loaded on first
use; the command line picks the language before it imports its commands,
whose help texts are translated when their modules load.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache, lru_cache

from datakeeper.locale_env import LOCALE_VARIABLES, SOURCE_LANGUAGE, asked_language
from datakeeper.mo_catalog import MoCatalog, SourceTexts

DOMAIN = "datakeeper"
# A string, not a Path: pathlib (and the urllib it imports) is not loaded for --help.
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")
LANGUAGES = ("en", "ko")  # the source language first, then those with a catalog
ENVIRONMENT_ORDER = LOCALE_VARIABLES

_chosen: str | None = None  # --lang
_site_default: str | None = None  # the config's ``language``


def language_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The language the locale variables (``os.environ`` by default) ask for, or
    ``None`` when they name none: the rule of ``datakeeper.locale_env``."""
    return asked_language(os.environ if environ is None else environ, LANGUAGES)


def current_language() -> str:
    """The language user-facing text is shown in now: ``en`` or ``ko``."""
    return _language()


def set_language(code: str | None) -> None:
    """Use ``code`` (``--lang``) above every other source; ``None`` forgets it.

    Strings already translated (help texts of imported modules) keep their
    language; the command line calls this before importing its commands.
    """
    global _chosen
    _chosen = _checked(code)
    _clear()


def set_site_default(code: str | None) -> None:
    """The site config's ``language``: used when the locale names no language."""
    global _site_default
    _site_default = _checked(code)
    _clear()


def _checked(code: str | None) -> str | None:
    if code is not None and code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; choose one of {', '.join(LANGUAGES)}")
    return code


@lru_cache(maxsize=1)
def _language() -> str:
    return _chosen or language_from_environment() or _site_default or SOURCE_LANGUAGE


def _clear() -> None:
    _language.cache_clear()
    _translation.cache_clear()


@cache
def translation_for(code: str) -> SourceTexts:
    """The catalog of language ``code`` (``gettext``, ``ngettext``, ``info``); English,
    or a language whose catalog is missing or unreadable, gives the strings as written."""
    if code == SOURCE_LANGUAGE:
        return SourceTexts()
    path = os.path.join(LOCALE_DIR, code, "LC_MESSAGES", DOMAIN + ".mo")
    try:
        with open(path, "rb") as handle:
            return MoCatalog(handle.read())
    except (OSError, ValueError):
        return SourceTexts()


@lru_cache(maxsize=1)
def _translation() -> SourceTexts:
    return translation_for(_language())


def _(message: str) -> str:
    """Return ``message`` translated to the user's language, if a catalog exists."""
    return _translation().gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Return the form of a sentence with a count that fits ``count``, translated."""
    return _translation().ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (it is translated
    where it is shown)."""
    return message
