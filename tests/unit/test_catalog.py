"""The Korean catalog covers every string of the source, with its placeholders intact."""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from tests.support.catalogs import tools

catalogs = tools()


def test_every_source_string_has_a_korean_translation():
    wanted = catalogs.extracted()
    found = [
        issue
        for language, po in catalogs.po_files()
        for issue in catalogs.problems(language, po, wanted)
    ]
    assert [language for language, _po in catalogs.po_files()] == ["ko"]
    assert not found, (
        f"{len(found)} string(s) without a usable Korean translation "
        "(scripts/i18n.py update, then translate them in the .po):\n" + "\n".join(found[:40])
    )


def test_the_template_in_git_matches_the_source():
    """The .pot is what translators work from: regenerate it with scripts/i18n.py extract."""
    with catalogs.TEMPLATE.open("rb") as handle:
        stored = {message.id for message in read_po(handle) if message.id}
    current = {message.id for message in catalogs.extracted() if message.id}
    assert stored == current, "run: .venv/bin/python scripts/i18n.py extract update"


def test_the_checker_catches_a_changed_placeholder(tmp_path):
    po = tmp_path / "ko" / "LC_MESSAGES" / "datakeeper.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr "Language: ko\\n"\n\n'
        'msgid "removed {name}"\nmsgstr "{user} 삭제됨"\n\n'
        'msgid "kept"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "added"\nmsgstr "추가?"\n',
        encoding="utf-8",
    )
    wanted = Catalog()
    for text in ("removed {name}", "kept", "added", "absent"):
        wanted.add(text)
    issues = catalogs.problems("ko", po, wanted)
    assert [issue.rsplit(": ", 1)[1] for issue in issues] == [
        "placeholders ['{name}'] in English, ['{user}'] in the translation",
        "not translated",
        "fuzzy",
        "missing (run scripts/i18n.py update, then translate)",
    ]


def test_the_wheel_build_compiles_the_catalog(tmp_path):
    written = catalogs.compile_catalogs(catalogs.LOCALE, tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in written] == [
        "ko/LC_MESSAGES/datakeeper.mo"
    ]
    assert written[0].stat().st_size > 10_000
