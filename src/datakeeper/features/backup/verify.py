"""``datakeeper backup verify``: re-read a snapshot and compare it with its manifest.

The walk of the snapshot and the manifest are in one order, so they are merged
file by file: a path only in the manifest is *missing*, one only on disk is
*extra*, one whose size, mtime or content hash differs is *changed* (bit rot,
or tampering). The verdict is written into the snapshot (``meta/verify.json``)
and ``backup list`` shows it as "verified" or "damaged".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from datakeeper.errors import ActionFailedError
from datakeeper.features.backup import layout
from datakeeper.features.backup.listing import backup_root
from datakeeper.features.backup.manifest import (
    Entry,
    file_digest,
    manifest_hash,
    read_manifest,
    walk_files,
)
from datakeeper.i18n import _, ngettext
from datakeeper.text import printable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from datakeeper.config import SiteConfig

SAMPLE = 20  # paths named per kind of damage; the rest are counted


@dataclass
class Verdict:
    """What ``verify`` found in one snapshot."""

    snapshot: str
    checked: int = 0
    hashed: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def note(self, kind: str, path: str) -> None:
        self.counts[kind] += 1
        names = getattr(self, kind)
        if len(names) < SAMPLE:
            names.append(path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "ok": self.ok,
            "checked": self.checked,
            "hashed": self.hashed,
            **{kind: getattr(self, kind) for kind in KINDS},
            "counts": self.counts,
        }

    def lines(self) -> list[str]:
        """The verdict as ``backup verify`` and the menu show it: the damaged paths
        named (escaped), then one summary line."""
        if self.ok:
            return [
                ngettext(
                    "{name}: OK, {n} file checked ({h} hashed)",
                    "{name}: OK, {n} files checked ({h} hashed)",
                    self.checked,
                ).format(name=self.snapshot, n=self.checked, h=self.hashed)
            ]
        lines = []
        for kind, words in (
            ("missing", _("missing")),
            ("changed", _("changed")),
            ("extra", _("extra")),
        ):
            lines += [f"  {words}: {printable(path)}" for path in getattr(self, kind)]
            hidden = self.counts[kind] - len(getattr(self, kind))
            if hidden > 0:
                lines.append(_("  and {n} more {kind}").format(n=hidden, kind=words))
        summary = _("{name}: DAMAGED: {m} missing, {c} changed, {e} extra")
        counts = self.counts
        return [
            *lines,
            summary.format(
                name=self.snapshot, m=counts["missing"], c=counts["changed"], e=counts["extra"]
            ),
        ]


KINDS = ("missing", "changed", "extra")


def verify_snapshot(cfg: SiteConfig, name: str | None) -> Verdict:
    """Verify the snapshot called ``name`` (default: the newest complete one) and
    record the verdict in it."""
    snapshot = layout.find(backup_root(cfg), name)
    manifest = snapshot.meta / layout.MANIFEST
    verdict = Verdict(snapshot.name)
    try:
        kind = manifest_hash(manifest)  # xxh128, or blake2b in older snapshots
        _compare(verdict, snapshot, read_manifest(manifest), kind)
    except (OSError, ValueError) as error:
        raise ActionFailedError(
            _("{path}: cannot read the manifest: {why}").format(path=manifest, why=error)
        ) from error
    _record(snapshot, verdict)
    return verdict


def _compare(
    verdict: Verdict, snapshot: layout.Snapshot, entries: Iterator[Entry], kind: str
) -> None:
    files = walk_files(snapshot.data)
    entry, found = next(entries, None), next(files, None)
    while entry is not None or found is not None:
        on_disk = Entry(found[0], 0, 0).key() if found is not None else None
        if found is None or (entry is not None and entry.key() < on_disk):
            verdict.note("missing", entry.path)
            entry = next(entries, None)
        elif entry is None or on_disk < entry.key():
            verdict.note("extra", found[0])
            found = next(files, None)
        else:
            _check_one(verdict, snapshot, entry, found[1], kind)
            entry, found = next(entries, None), next(files, None)


def _check_one(
    verdict: Verdict, snapshot: layout.Snapshot, entry: Entry, info: os.stat_result, kind: str
) -> None:
    verdict.checked += 1
    if (info.st_size, info.st_mtime_ns) != (entry.size, entry.mtime_ns):
        verdict.note("changed", entry.path)
        return
    if entry.digest is None:
        return
    verdict.hashed += 1
    try:
        same = file_digest(snapshot.data / entry.path, kind=kind) == entry.digest
    except OSError:
        same = False
    if not same:
        verdict.note("changed", entry.path)


def _record(snapshot: layout.Snapshot, verdict: Verdict) -> None:
    """``meta/verify.json`` (0600), replaced atomically."""
    data = {"time": datetime.now(timezone.utc).isoformat(), **verdict.as_dict()}
    path = snapshot.meta / layout.VERIFY
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)
