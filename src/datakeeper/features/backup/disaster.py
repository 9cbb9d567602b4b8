"""``datakeeper backup restore --everything``: rebuild the site after the data disk
was replaced with an empty one.

From one complete snapshot (the newest, or ``--from``): the site config and the
registry come back from its root-only ``meta/`` first (they say where
everything goes and which ids every account had), then every backed-up
folder (the homes, and the ``[backup] sources``) into the data root with
``rsync -aHAX --numeric-ids`` (owners as numbers: the registry recreates the
same ids), then ``recover`` recreates the accounts, groups and links.

Both storage roots must pass the persistent-storage guard: restoring onto the
SSD would vanish at the next boot. A data root that still holds homes is
reported in the plan (``present``); the front end asks before it goes on.
A file already at the config's or the registry's place is kept beside it as
``NAME.before-restore-<time>``, never silently replaced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datakeeper.config import parse_config
from datakeeper.engine.session import record_event
from datakeeper.errors import InvalidInputError, RefusedError
from datakeeper.features.backup import layout
from datakeeper.features.recovery.recover import recover
from datakeeper.i18n import _, ngettext
from datakeeper.progress import tracked
from datakeeper.storage import ensure_persistent
from datakeeper.system import rsync
from datakeeper.system.fs import atomic_write

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig
    from datakeeper.features.recovery.recover import RecoveryReport
    from datakeeper.features.setup.init import SetupReporter

# Owners as numbers, hard links, ACLs, xattrs; each folder's path kept below the
# data root (``<snapshot>/data/./users``), so the data root's own mode is untouched.
RESTORE_FLAGS = ("-aHAX", "--numeric-ids", "--relative")


@dataclass(frozen=True)
class DisasterPlan:
    """What ``--everything`` would restore, and what is in the way."""

    snapshot: layout.Snapshot
    cfg: SiteConfig  # the site config the snapshot holds
    config_path: Path
    config_text: bytes
    registry_text: bytes
    folders: list[str]  # below the data root, e.g. ["users", "code"]
    present: list[str]  # homes already in the data root's users folder

    def sentences(self) -> list[str]:
        """The plan, one line a step, as the dry run and the question show it."""
        root = self.cfg.storage.data_root
        lines = [
            _("restore the site config to {path} from snapshot {name}").format(
                path=self.config_path, name=self.snapshot.name
            ),
            _("restore the registry to {path}").format(path=self.cfg.registry_path),
        ]
        lines += [_("restore {path}").format(path=root / folder) for folder in self.folders]
        lines.append(_("run 'datakeeper recover': accounts, groups and links, same ids"))
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot.name,
            "config_path": str(self.config_path),
            "registry_path": str(self.cfg.registry_path),
            "data_root": str(self.cfg.storage.data_root),
            "folders": self.folders,
            "present": self.present,
            "steps": self.sentences(),
        }


@dataclass
class DisasterReport:
    """What ``--everything`` did: the plan, the files kept aside, the recovery."""

    plan: DisasterPlan
    kept_aside: list[str] = field(default_factory=list)
    recovery: RecoveryReport | None = None

    @property
    def ok(self) -> bool:
        return self.recovery is not None and self.recovery.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.plan.as_dict(),
            "kept_aside": self.kept_aside,
            "recovery": self.recovery.as_dict() if self.recovery else None,
            "ok": self.ok,
        }


def plan_everything(backup_root: Path | None, config_path: Path, name: str | None) -> DisasterPlan:
    """Read the snapshot's config and registry; reads only. ``backup_root`` comes from
    the live config when there still is one, else the default."""
    if backup_root is None:
        raise InvalidInputError(_("this site has no backup root ([storage] backup_root)"))
    ensure_persistent(backup_root)
    snapshot = layout.find(backup_root, name)
    config_text = _meta_file(snapshot, layout.CONFIG_COPY)
    registry_text = _meta_file(snapshot, layout.REGISTRY_COPY)
    cfg = parse_config(config_text.decode("utf-8"), str(snapshot.meta / layout.CONFIG_COPY))
    folders = sorted(entry.name for entry in os.scandir(snapshot.data) if entry.is_dir())
    return DisasterPlan(
        snapshot, cfg, config_path, config_text, registry_text, folders, _homes_present(cfg)
    )


def _meta_file(snapshot: layout.Snapshot, name: str) -> bytes:
    try:
        return (snapshot.meta / name).read_bytes()
    except OSError as error:
        raise RefusedError(
            _("snapshot {snap} has no readable {name} ({why}); choose another with --from").format(
                snap=snapshot.name, name=name, why=error.strerror or error
            )
        ) from None


def _homes_present(cfg: SiteConfig) -> list[str]:
    """The folders already in the users folder (a fresh disk has none)."""
    try:
        return sorted(entry.name for entry in os.scandir(cfg.users_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []


def restore_everything(
    plan: DisasterPlan, *, over_present: bool, reporter: SetupReporter
) -> DisasterReport:
    """Restore the config, the registry and every folder, then run ``recover``.
    ``RefusedError`` when homes are present and ``over_present`` is false, or a storage
    root is not the persistent disk."""
    cfg = plan.cfg
    ensure_persistent(cfg.storage.data_root)
    if plan.present and not over_present:
        raise RefusedError(present_sentence(plan))
    report = DisasterReport(plan)
    stamp = datetime.now(timezone.utc).strftime(layout.TIME_FORMAT)
    report.kept_aside += _put(plan.config_path, plan.config_text, 0o644, stamp)
    cfg.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    report.kept_aside += _put(cfg.registry_path, plan.registry_text, 0o600, stamp)
    sources = [f"{plan.snapshot.data}/./{folder}" for folder in plan.folders]
    argv = rsync.snapshot_argv(
        sources, cfg.storage.data_root, None, rsync.Niceness(0, False), flags=RESTORE_FLAGS
    )
    with tracked(_("restoring from {name}").format(name=plan.snapshot.name), None, "items"):
        rsync.copy(argv)
    record_event(
        cfg,
        code="backup.restore_everything",
        resource=f"backup restore --everything {plan.snapshot.name}",
        event=_("restored the config, the registry and {folders} from snapshot {name}").format(
            folders=", ".join(plan.folders), name=plan.snapshot.name
        ),
        outcome="applied",
        details=plan.as_dict(),
    )
    report.recovery = recover(cfg, plan.config_path, dry_run=False, reporter=reporter)
    return report


def present_sentence(plan: DisasterPlan) -> str:
    """What is in the way, for the question and the refusal."""
    shown = ", ".join(plan.present[:10]) + (" …" if len(plan.present) > 10 else "")
    return ngettext(
        "{folder} is not empty: it holds {n} home ({names}); restoring from {snap} "
        "puts the snapshot's files over it",
        "{folder} is not empty: it holds {n} homes ({names}); restoring from {snap} "
        "puts the snapshot's files over them",
        len(plan.present),
    ).format(folder=plan.cfg.users_dir, n=len(plan.present), names=shown, snap=plan.snapshot.name)


def _put(path: Path, data: bytes, mode: int, stamp: str) -> list[str]:
    """Write ``data`` to ``path`` (root's), keeping a different file there aside."""
    kept: list[str] = []
    if os.path.lexists(path):
        if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
            return kept
        aside = path.with_name(f"{path.name}.before-restore-{stamp}")
        os.rename(path, aside)
        kept.append(str(aside))
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    atomic_write(path, data, mode=mode, uid=0, gid=0)
    return kept
