"""The translations baked into the sudo helper: its own messages, per catalog language.

The installed helper cannot read datakeeper's catalog (``helper.messages``), so
rendering it (``features.setup.sudo``) replaces its empty ``TRANSLATIONS`` with
what ``helper_translations`` returns: for each language of
``datakeeper.i18n.LANGUAGES`` but English, the translation of exactly the
literal msgids its code passes to ``_()`` and ``ngettext()``, taken from
``translation_for``, and the catalog's plural rule. Untranslated messages are
left out (the helper shows the English), so the table stays small; the caller
renders it with sorted keys, so the same catalog gives the same bytes.
"""

from __future__ import annotations

import ast
import gettext
import re

from datakeeper.i18n import LANGUAGES, SOURCE_LANGUAGE, translation_for
from datakeeper.mo_catalog import SourceTexts

PLURAL_FORMS = re.compile(r"nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*([^;]+)")
MAX_SAMPLE = 1000  # the counts searched for one that picks each plural form


def helper_msgids(source: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The literal msgids of ``source``'s ``_("…")`` and ``ngettext("…", "…", n)`` calls."""
    singles: set[str] = set()
    plurals: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        texts = [arg.value for arg in node.args if _is_text(arg)]
        if node.func.id == "_" and len(texts) == 1:
            singles.add(texts[0])
        elif node.func.id == "ngettext" and len(texts) == 2:
            plurals.add((texts[0], texts[1]))
    return sorted(singles), sorted(plurals)


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def helper_translations(source: str) -> dict:
    """``{language: {"plural": rule, "messages": {…}, "plurals": {…}}}`` for the helper
    whose code is ``source``; a language without a compiled catalog is left out."""
    singles, plurals = helper_msgids(source)
    tables = {}
    for code in LANGUAGES:
        translation = translation_for(code)
        found = PLURAL_FORMS.search(translation.info().get("plural-forms", ""))
        if code == SOURCE_LANGUAGE or found is None:
            continue
        rule = found.group(2).strip()
        samples = _samples(int(found.group(1)), rule)
        tables[code] = {
            "plural": rule,
            "messages": {m: t for m in singles if (t := translation.gettext(m)) != m},
            "plurals": _plural_forms(translation, plurals, samples),
        }
    return tables


def _samples(count: int, rule: str) -> list[int]:
    """For each plural form 0..count-1, a number the catalog's ``rule`` gives it to."""
    choose = gettext.c2py(rule)
    found: dict[int, int] = {}
    for n in range(MAX_SAMPLE):
        found.setdefault(choose(n), n)
    return [found.get(index, 0) for index in range(count)]


def _plural_forms(
    translation: SourceTexts, pairs: list[tuple[str, str]], samples: list[int]
) -> dict[str, list[str]]:
    """Singular msgid -> its translated forms, for the pairs the catalog translates."""
    forms = {}
    for singular, plural in pairs:
        texts = [translation.ngettext(singular, plural, n) for n in samples]
        english = [singular if n == 1 else plural for n in samples]
        if texts != english:
            forms[singular] = texts
    return forms
