"""The registry of managed accounts, kept on persistent storage for recovery."""

from __future__ import annotations

from datakeeper.registry.model import RegistryDocument, RegistryEntry
from datakeeper.registry.store import (
    Registry,
    load_or_empty,
    lock_path,
    open_registry,
    read_document,
    read_registry,
)

__all__ = [
    "Registry",
    "RegistryDocument",
    "RegistryEntry",
    "load_or_empty",
    "lock_path",
    "open_registry",
    "read_document",
    "read_registry",
]
