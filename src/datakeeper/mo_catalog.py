"""A compiled gettext catalog (``.mo``), read on demand.

``gettext.GNUTranslations`` decodes every entry when it loads (a few ms for
our 1,500 entries, and importing ``gettext`` pulls in ``locale``), yet a
``--help`` shows some fifty of them. This keeps the file's bytes and finds an
entry by binary search in its table of original strings, which ``msgfmt`` and
Babel write sorted; each answer is decoded once and kept.

The answers are those of ``GNUTranslations`` for every entry of the catalog:
``tests/unit/test_mo_catalog.py`` compares them all on the shipped catalog.
Standard library only; ``gettext`` is imported only for a plural rule that is
not a constant (Korean has one form: ``plural=0``).
"""

from __future__ import annotations

from collections.abc import Callable

_LITTLE, _BIG = 0x950412DE, 0xDE120495  # the magic number, read little-endian
_HEADER_SIZE = 28  # magic, revision, count, two table offsets, hash table size and offset


class SourceTexts:
    """The source language (English): every text as written."""

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def info(self) -> dict[str, str]:
        return {}


class MoCatalog(SourceTexts):
    """The entries of one ``.mo`` file; a text it lacks comes back as written.
    ``ValueError`` when ``data`` is not a catalog this can read."""

    def __init__(self, data: bytes) -> None:
        if len(data) < _HEADER_SIZE:
            raise ValueError("not a gettext catalog: too short")
        magic = int.from_bytes(data[:4], "little")
        if magic not in (_LITTLE, _BIG):
            raise ValueError("not a gettext catalog: bad magic number")
        self._order = "little" if magic == _LITTLE else "big"
        self._data = data
        if self._word(4) >> 16 not in (0, 1):
            raise ValueError(f"unknown gettext catalog revision {self._word(4) >> 16}")
        self._count, self._originals, self._translations = (
            self._word(8),
            self._word(12),
            self._word(16),
        )
        if max(self._originals, self._translations) + 8 * self._count > len(data):
            raise ValueError("not a gettext catalog: its tables run past its end")
        self._found: dict[str, str] = {}
        self._header: dict[str, str] | None = None
        self._charset = self.info().get("content-type", "").partition("charset=")[2] or "utf-8"
        self._plural: Callable[[int], int] | None = None

    def gettext(self, message: str) -> str:
        found = self._found.get(message)
        if found is None:
            raw = self._lookup(message.encode(self._charset))
            found = message if raw is None else raw.decode(self._charset)
            self._found[message] = found
        return found

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        raw = self._lookup(f"{singular}\0{plural}".encode(self._charset))
        forms = [] if raw is None else raw.decode(self._charset).split("\0")
        index = self._plural_index(n) if forms else 0
        if index < len(forms):
            return forms[index]
        return super().ngettext(singular, plural, n)

    def info(self) -> dict[str, str]:
        """The header's fields, keys in lower case (as ``GNUTranslations.info``)."""
        if self._header is None:
            raw = self._lookup(b"") or b""
            self._header = {}
            for line in raw.decode("utf-8", errors="replace").split("\n"):
                key, colon, value = line.partition(":")
                if colon:
                    self._header[key.strip().lower()] = value.strip()
        return self._header

    def _plural_index(self, n: int) -> int:
        if self._plural is None:
            rule = self.info().get("plural-forms", "").partition("plural=")[2]
            rule = rule.strip().rstrip(";").strip()
            if not rule:  # gettext's rule when the header names none
                self._plural = lambda n: int(n != 1)
            elif rule.isdigit():  # one form for every count (Korean: plural=0)
                self._plural = lambda n, form=int(rule): form
            else:
                import gettext  # the rule as a function: only for a catalog that needs one

                self._plural = gettext.c2py(rule)
        return self._plural(n)

    def _lookup(self, key: bytes) -> bytes | None:
        """The translation of the original ``key``, by binary search; None if absent."""
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            original = self._string(self._originals, middle)
            if original < key:
                low = middle + 1
            elif original > key:
                high = middle
            else:
                return self._string(self._translations, middle)
        return None

    def _string(self, table: int, index: int) -> bytes:
        at = table + 8 * index
        length, offset = self._word(at), self._word(at + 4)
        return self._data[offset : offset + length]

    def _word(self, at: int) -> int:
        return int.from_bytes(self._data[at : at + 4], self._order)
