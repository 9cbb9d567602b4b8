"""Hide secrets (passwords, tokens, private keys) in text before it is printed or logged."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every occurrence of each non-empty secret replaced by ``***``.

    Longer secrets are replaced first, so a secret that contains another one
    is hidden whole rather than leaving its remainder visible.
    """
    for secret in sorted({secret for secret in secrets if secret}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
