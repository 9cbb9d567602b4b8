"""Translation hook for user-facing text.

Every string a person reads goes through ``_()`` so that catalogs (Korean
first) can be added under ``datakeeper/locale`` without touching the code.
The catalog is loaded on first use to keep start-up fast.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

DOMAIN = "datakeeper"
LOCALE_DIR = Path(__file__).parent / "locale"


@lru_cache(maxsize=1)
def _translation() -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """Return ``message`` translated to the user's language, if a catalog exists."""
    return _translation().gettext(message)
