"""The product cites only files that are in the repository, and the docs name real tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECURITY = ROOT / "docs" / "security.md"
DOC_PATH = re.compile(r"\bdocs/[\w./-]+\.md\b")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
SOURCES = sorted(
    [
        *(ROOT / "src").rglob("*.py"),
        ROOT / "README.md",
        ROOT / "README.ko.md",
        ROOT / "install.sh",
        *(ROOT / "scripts").iterdir(),
        *(ROOT / "docs").glob("*.md"),
    ]
)


def _cited_docs() -> list[tuple[Path, str]]:
    return [
        (source, cited)
        for source in SOURCES
        if source.is_file()
        for cited in DOC_PATH.findall(source.read_text(encoding="utf-8", errors="replace"))
    ]


def test_every_cited_doc_exists():
    cited = _cited_docs()
    assert any(name == "docs/security.md" for _source, name in cited)
    missing = [
        f"{source.relative_to(ROOT)} cites {name}"
        for source, name in cited
        if not (ROOT / name).is_file()
    ]
    assert missing == []


def test_nothing_cites_notes_outside_the_repository():
    citing = [
        str(source.relative_to(ROOT))
        for source in SOURCES
        if source.is_file()
        and any(
            outside in source.read_text(encoding="utf-8", errors="replace")
            for outside in ("SECURITY-NOTES", "../shared")
        )
    ]
    assert citing == []


def test_every_test_the_security_doc_names_exists():
    references = TEST_REF.findall(SECURITY.read_text(encoding="utf-8"))
    assert len(references) >= 30
    missing = [
        f"{path}::{name}"
        for path, name in references
        if not (ROOT / path).is_file()
        or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    ]
    assert missing == []
