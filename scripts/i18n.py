#!/usr/bin/env python3
"""Translation catalogs: extract, update, compile and check, with Babel.

    .venv/bin/python scripts/i18n.py            # all three: extract, update, compile
    .venv/bin/python scripts/i18n.py extract    # source -> src/datakeeper/locale/datakeeper.pot
    .venv/bin/python scripts/i18n.py update     # .pot -> each language's .po (new entries empty)
    .venv/bin/python scripts/i18n.py compile    # each .po -> .mo beside it (git ignores .mo)
    .venv/bin/python scripts/i18n.py check      # every msgid translated, placeholders intact

The wheel gets its .mo files from setup.py, which calls ``compile_catalogs``
here at build time; the .po files are the source kept in git.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "datakeeper"
LOCALE = PACKAGE / "locale"
DOMAIN = "datakeeper"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
WIDTH = 100


def po_files(locale: Path = LOCALE) -> Iterator[tuple[str, Path]]:
    """(language, .po path) for every catalog under ``locale``."""
    for po in sorted(locale.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        yield po.parent.parent.name, po


def extracted(package: Path = PACKAGE) -> Catalog:
    """Every translatable string of the source, as a template catalog."""
    catalog = Catalog(project=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        package, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        entry = catalog.add(
            message, None, [(filename, lineno)], auto_comments=comments, context=context
        )
        # Our texts use str.format ({name}); Babel would take "50% full" for a
        # %-placeholder and hold translations to it.
        entry.flags.discard("python-format")
    return catalog


def extract() -> None:
    buffer = io.BytesIO()
    write_po(buffer, extracted(), width=WIDTH, omit_header=False, no_location=True,
             sort_output=True)  # fmt: skip
    old = TEMPLATE.read_bytes() if TEMPLATE.exists() else b""
    if _undated(old) == _undated(buffer.getvalue()):
        print(f"{TEMPLATE.relative_to(ROOT)} is up to date")
        return  # only the creation date would change: keep git quiet
    TEMPLATE.write_bytes(buffer.getvalue())
    print(f"wrote {TEMPLATE.relative_to(ROOT)}")


def _undated(text: bytes) -> bytes:
    return re.sub(rb'"POT-Creation-Date: [^"]*"', b"", text)


def update() -> None:
    with TEMPLATE.open("rb") as handle:
        template = read_po(handle)
    for language, po in po_files():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        catalog.update(template, update_header_comment=False)
        with po.open("wb") as handle:
            write_po(handle, catalog, width=WIDTH, no_location=True, sort_output=True,
                     ignore_obsolete=True)  # fmt: skip
        print(f"updated {po.relative_to(ROOT)}")


def compile_catalogs(locale: Path = LOCALE, target: Path | None = None) -> list[Path]:
    """Compile each .po under ``locale`` to a .mo under ``target`` (default: beside it).

    Fuzzy entries are left out, as msgfmt does: a guess is worse than English.
    """
    written = []
    for language, po in po_files(locale):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        mo = (target or locale) / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        partial = mo.with_name(f".{mo.name}.{os.getpid()}")  # parallel test workers
        with partial.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        os.replace(partial, mo)
        written.append(mo)
    return written


def stale(locale: Path = LOCALE) -> bool:
    """Whether some .po under ``locale`` is newer than its .mo (or has none)."""
    for _language, po in po_files(locale):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            return True
    return False


def problems(language: str, po: Path, wanted: Catalog) -> list[str]:
    """What keeps the catalog of ``language`` from covering every string of the source."""
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    found = []
    for message in wanted:
        if not message.id:
            continue
        entry = catalog.get(message.id)
        label = f"{po.name} ({language}): {_first(message)!r}"
        if entry is None:
            found.append(f"{label}: missing (run scripts/i18n.py update, then translate)")
        elif entry.fuzzy or not all(text.strip() for text in _strings(entry)):
            found.append(f"{label}: {'fuzzy' if entry.fuzzy else 'not translated'}")
        else:
            found.extend(f"{label}: {issue}" for issue in _placeholder_issues(message, entry))
    return found


def _placeholder_issues(message: Message, entry: Message) -> list[str]:
    wanted = sorted(PLACEHOLDER.findall(_first(message)))
    issues = []
    for text in _strings(entry):
        got = sorted(PLACEHOLDER.findall(text))
        if got != wanted:
            issues.append(f"placeholders {wanted} in English, {got} in the translation")
    return issues


def _first(message: Message) -> str:
    return message.id[0] if isinstance(message.id, (tuple, list)) else message.id


def _strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def check() -> int:
    wanted = extracted()
    found = [issue for language, po in po_files() for issue in problems(language, po, wanted)]
    for issue in found:
        print(issue)
    print(f"{len(found)} problem(s) in {len(list(po_files()))} catalog(s)")
    return 1 if found else 0


def main(argv: list[str]) -> int:
    steps = {"extract": extract, "update": update, "compile": lambda: print(
        "\n".join(f"compiled {mo.relative_to(ROOT)}" for mo in compile_catalogs()))}  # fmt: skip
    command = argv[0] if argv else "all"
    if command == "check":
        return check()
    if command == "all":
        for step in steps.values():
            step()
        return 0
    if command not in steps:
        print(f"usage: scripts/i18n.py [extract|update|compile|check|all]; not {command!r}")
        return 2
    steps[command]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
