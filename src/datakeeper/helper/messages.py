"""The helper's messages in the caller's language, from a table baked in at install.

Standard library only, like the rest of the helper, and inlined into its one
file. The installed helper runs as ``python3 -I`` and reads no file a member
could influence, so it cannot open datakeeper's catalog: when it is rendered
(``datakeeper.features.setup.sudo``), ``TRANSLATIONS`` is replaced by the
translation of every message the helper's code marks with ``_()`` or
``ngettext()`` (literal msgids, so ``scripts/i18n.py extract`` finds them too),
for each language of the catalog. In the package the table is empty, so the
same code run in-process speaks English.

Which language: the first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and
``LANG`` that names one (sudo keeps them), else the site's ``language``
(baked into the policy), else English: the rule of ``datakeeper.locale_env``,
which the tool's own ``datakeeper.i18n`` uses too (inlined here, as the helper's
other modules are). ``setlocale`` is never called.
"""

from __future__ import annotations

import gettext  # only c2py: a catalog's plural rule as a function; no file is read

from datakeeper.locale_env import SOURCE_LANGUAGE, asked_language

# Language -> {"plural": the catalog's C expression of n, "messages": {msgid: text},
# "plurals": {singular msgid: [form, ...]}}, baked in by datakeeper.features.setup.sudo.
TRANSLATIONS: dict = {}

_spoken: dict = {}  # the chosen language's entry of TRANSLATIONS, and its plural rule


def choose_language(environ, default: str | None = None) -> str:
    """Speak what ``environ`` asks for, else ``default``, else English; return which."""
    known = (SOURCE_LANGUAGE, *TRANSLATIONS)
    code = asked_language(environ, known) or default or SOURCE_LANGUAGE
    if code not in TRANSLATIONS:
        code = SOURCE_LANGUAGE
    _spoken.clear()
    if code in TRANSLATIONS:
        _spoken.update(TRANSLATIONS[code], rule=gettext.c2py(TRANSLATIONS[code]["plural"]))
    return code


def _(message: str) -> str:
    """``message`` in the chosen language (as given when it has no translation)."""
    return _spoken.get("messages", {}).get(message, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a sentence with a count that fits ``count``, in the chosen language."""
    forms = _spoken.get("plurals", {}).get(singular)
    if not forms:
        return singular if count == 1 else plural
    return forms[min(_spoken["rule"](count), len(forms) - 1)]
