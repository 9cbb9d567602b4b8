"""The on-demand catalog reader answers as gettext's own does, entry by entry."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from datakeeper import i18n
from datakeeper.mo_catalog import MoCatalog

SHIPPED = Path(i18n.LOCALE_DIR) / "ko" / "LC_MESSAGES" / "datakeeper.mo"


def _both(data: bytes) -> tuple[MoCatalog, gettext.GNUTranslations]:
    return MoCatalog(data), gettext.GNUTranslations(io.BytesIO(data))


def test_every_entry_of_the_shipped_catalog_reads_as_gettext_reads_it():
    data = SHIPPED.read_bytes()
    ours, theirs = _both(data)
    singles = plurals = 0
    for key in theirs._catalog:  # the decoded entries: text, or (singular, form)
        if isinstance(key, tuple):
            continue
        assert ours.gettext(key) == theirs.gettext(key), key
        singles += 1
    for entry in _plural_entries(data):
        singular, plural = entry.split("\0")
        for n in (0, 1, 2, 5, 21):
            assert ours.ngettext(singular, plural, n) == theirs.ngettext(singular, plural, n)
        plurals += 1
    assert singles > 1000 and plurals > 50  # the real catalog, not an empty one
    assert ours.info() == theirs.info()
    assert ours.gettext("no such text, surely") == "no such text, surely"
    assert ours.ngettext("{n} no such", "{n} no suches", 2) == "{n} no suches"


def _plural_entries(data: bytes) -> list[str]:
    """The originals that hold a plural pair, read straight from the file's table."""
    catalog = MoCatalog(data)
    found = []
    for index in range(catalog._count):
        original = catalog._string(catalog._originals, index).decode()
        if "\0" in original:
            found.append(original)
    return found


def _catalog(plural_forms: str, entries: dict) -> bytes:
    catalog = Catalog(locale="ru")
    catalog._set_mime_headers([("Plural-Forms", plural_forms)])
    for msgid, text in entries.items():
        catalog.add(msgid, text)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def test_a_plural_rule_that_is_not_a_constant_is_followed():
    rule = "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 ? 1 : 2);"
    data = _catalog(rule, {("{n} file", "{n} files"): ("A {n}", "B {n}", "C {n}"), "x": "y"})
    ours, theirs = _both(data)
    for n in (0, 1, 2, 4, 5, 11, 21, 22, 25, 101):
        assert ours.ngettext("{n} file", "{n} files", n) == theirs.ngettext(
            "{n} file", "{n} files", n
        )
    assert ours.gettext("x") == "y"


@pytest.mark.parametrize("data", [b"", b"\x00" * 40, b"\xde\x12\x04\x95" + b"\xff" * 24])
def test_what_is_not_a_catalog_is_refused(data):
    with pytest.raises(ValueError):
        MoCatalog(data)
