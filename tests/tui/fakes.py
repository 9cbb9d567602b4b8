"""A stand-in for ``datakeeper.tui.features.Features``: records every call, changes nothing.

Each method returns the real result types of the features (SetupReport,
CheckReport, AddResult, RemovalPreview …) filled with fixed values, so the
screens show exactly what they would show for real. ``fail`` makes a method
raise instead (e.g. ``fail["add_user"] = InvalidInputError("…")``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from datakeeper.config import parse_config
from datakeeper.engine import Change, Outcome
from datakeeper.features.backup.browse import Entry as BrowseEntry
from datakeeper.features.backup.browse import Listing
from datakeeper.features.backup.last_run import LastRun
from datakeeper.features.backup.listing import SnapshotInfo
from datakeeper.features.backup.prune import PrunePlan
from datakeeper.features.backup.run import RunReport
from datakeeper.features.backup.schedule import BackupStatus
from datakeeper.features.backup.verify import Verdict
from datakeeper.features.caches.kinds import CacheLocation, Usage
from datakeeper.features.caches.report import CleanRun, KindReport
from datakeeper.features.check.run import FAIL, PASS, SKIP, CheckReport, CheckResult
from datakeeper.features.disk.usage import DiskReport, FolderUsage, RootUsage
from datakeeper.features.drift import FileState
from datakeeper.features.envinfo import EnvInfo, Variable
from datakeeper.features.gpu.by_user import ViewerView, for_viewer
from datakeeper.features.gpu.snapshot import GpuProcess, GpuSnapshot
from datakeeper.features.guides import guide
from datakeeper.features.packages import Package, PackageResult, PackageStatus, catalogue
from datakeeper.features.recovery.boot import BootResult, RecoveryStatus
from datakeeper.features.recovery.recover import RecoveryReport
from datakeeper.features.setup.config_file import Answers
from datakeeper.features.setup.init import SetupReport, StepResult
from datakeeper.features.setup.steps import SetupContext, Step
from datakeeper.features.users.add import AddResult
from datakeeper.features.users.handout import Handout, handout
from datakeeper.features.users.info import UserDetails, UserSummary
from datakeeper.features.users.migrate.journal import FolderBefore, HomeBefore, Journal
from datakeeper.features.users.migrate.plan import MigrationPlan
from datakeeper.features.users.migrate.run import MigrationReport
from datakeeper.features.users.names import check_username_syntax
from datakeeper.features.users.remove.plan import RemovalPlan
from datakeeper.features.users.remove.preview import RemovalPreview
from datakeeper.features.users.remove.removal import RemovalReport
from datakeeper.features.users.remove.request import Target
from datakeeper.resources.cache_cleanup import CacheCleanup, CacheScan, Cleaned
from datakeeper.resources.symlink_absent import LinkState
from datakeeper.status import CleanupStatus, InstallStatus, StepStatus
from datakeeper.system.activity import LoginSession
from datakeeper.system.home_move import HomeState
from datakeeper.system.nvml import GpuFigures
from datakeeper.system.safe_delete import TreeUsage

CONFIG = 'group = "gpu-users"\nadmin = "admin"\n'
STEPS = [
    ("GROUP", "the shared group", ["create group gpu-users"]),
    ("STORAGE", "the storage roots", ["chmod /data 3775"]),
    ("FOLDERS", "the folder layout", []),
    ("ADMIN", "the admin account admin", ["add admin to gpu-users"]),
    ("ENV", "environment variables, conda and uv", ["create /etc/profile.d/global_envs.sh"]),
    ("SUDO", "the sudo policy for the group", ["install /etc/sudoers.d/datakeeper"]),
]


def _user(name: str, uid: int, login_shell: str, state: str, last_login, keys) -> UserSummary:
    """A ``user list`` row of an account whose home links to the data disk."""
    return UserSummary(
        name=name,
        uid=uid,
        groups=[name, "gpu-users"],
        shell=login_shell,
        home=f"/home/{name}",
        home_target=f"/data/users/{name}",
        home_layout="link",
        keys=list(keys),
        state=state,
        last_login=last_login,
        size_bytes=None,
    )


USERS = [
    _user("admin", 1000, "/bin/bash", "registered", None, []),
    _user("bob", 1001, "/bin/zsh", "drift: shell", "Mon Jan 1 10:00:00 +0000 2024", ["SHA256:abc"]),
]


GIB = 1 << 30
GPUS = [
    GpuFigures(0, "NVIDIA A100-SXM4-80GB", "GPU-0", 52 * GIB, 80 * GIB, 97, 61, 312.5),
    GpuFigures(1, "NVIDIA A100-SXM4-80GB", "GPU-1", 9 * GIB, 80 * GIB, 0, 35, 61.0),
]
GPU_PROCESSES = [
    GpuProcess(4242, 0, 40 * GIB, 1002, "alice", "python", True),
    GpuProcess(5151, 0, 12 * GIB, 1001, "bob", "train.py", True),
    GpuProcess(6060, 1, None, 1001, "bob", "jupyter", True),
    GpuProcess(7070, 1, 8 * GIB, 1003, "carol", "torchrun", True),
    GpuProcess(31337, 1, 1 * GIB, None, None, "", False),
]


class FakeFeatures:
    """Records ``(method, args, kwargs)`` in ``calls``; see the module docstring."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.fail: dict[str, Exception] = {}
        self.hook = "/data/apps/datakeeper/current/bin/datakeeper recover --boot"
        self.cfg = parse_config(CONFIG, "test.toml")
        self.lock = threading.Lock()
        self.config_missing = False
        self.config_exists = False  # setup_defaults: a config file exists already
        self.logged_in = False  # preview_removal: the user has a session
        self.setup_done: set[str] = set()  # run_setup: steps already applied
        self.setup_errors: dict[str, str] = {}  # run_setup: step key -> its error on apply
        self.plan_errors: dict[str, str] = {}  # run_setup: step key -> its error in a dry run
        self.gpus_missing = False  # gpu_view: no NVIDIA GPU or driver

    def _record(self, method: str, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            self.calls.append((method, args, kwargs))
        if method in self.fail:
            raise self.fail[method]

    def called(self, method: str) -> list[tuple[tuple, dict]]:
        """The (args, kwargs) of every call of ``method``."""
        return [(a, k) for m, a, k in self.calls if m == method]

    # -- config and setup ------------------------------------------------------

    def config_path(self) -> Path:
        return Path("/data/config/datakeeper.toml")

    def load_config(self, *, missing_ok: bool = False):
        self._record("load_config", missing_ok=missing_ok)
        if self.config_missing and not missing_ok:
            from datakeeper.errors import ConfigError

            raise ConfigError("/data/config/datakeeper.toml: missing; run the initial setup")
        return self.cfg

    def setup_defaults(self) -> Answers:
        if self.config_exists:  # init keeps what the file says
            return Answers()
        return Answers("gpu-users", "admin", "/data", "/backup")

    def prepare_setup(self, answers: Answers) -> SetupContext:
        self._record("prepare_setup", answers)
        return SetupContext(self.cfg, self.config_path(), CONFIG.encode())

    def setup_steps(self, context) -> list[Step]:
        return [Step(key, title, critical=key not in ("ENV", "SUDO")) for key, title, _c in STEPS]

    def run_setup(self, context, *, dry_run: bool, reporter, only=()) -> SetupReport:
        """Like the feature: the steps in ``only`` (all if empty); a step in ``setup_done``
        plans nothing; a step in ``setup_errors`` fails (on apply, or in ``plan_errors``:
        when planned); applying a step puts it in ``setup_done``."""
        self._record("run_setup", context, dry_run=dry_run, only=tuple(only))
        steps = [s for s in STEPS if not only or s[0] in only]
        results = []
        for index, (key, title, changes) in enumerate(steps, start=1):
            reporter.step_started(index, len(steps), _Step(key, title))
            result = self._step_result(key, title, changes, dry_run)
            reporter.step_finished(result)
            results.append(result)
            if result.status == "failed" and key not in ("ENV", "SUDO"):
                break
        login = not dry_run and any(r.key == "ADMIN" and r.changes for r in results)
        next_steps = ["log in again as admin (su - admin)"] if login else []
        return SetupReport(results, [*next_steps, "check 'umask' after logging in again"])

    def _step_result(self, key: str, title: str, changes: list[str], dry_run: bool) -> StepResult:
        errors = self.plan_errors if dry_run else self.setup_errors
        if key in errors:
            return StepResult(key, title, StepStatus.FAILED, errors=[errors[key]])
        if key in self.setup_done or not changes:
            return StepResult(
                key, title, StepStatus.UNCHANGED, unchanged=["directory /data/models"]
            )
        if not dry_run:
            self.setup_done.add(key)
        status = StepStatus.PLANNED if dry_run else StepStatus.CHANGED
        return StepResult(key, title, status, list(changes))

    def run_checks(self, cfg) -> CheckReport:
        self._record("run_checks", cfg)
        fixed = any(not k["dry_run"] for _a, k in self.called("fix"))
        results = [
            CheckResult("PERSISTENT", "/data", PASS, "marked persistent"),
            CheckResult("GROUP", "group gpu-users", PASS),
            CheckResult("FOLDERS", "directory /data/models", PASS),
        ]
        if not fixed:
            detail = "mode 0755 -> 3775; group root -> gpu-users"
            results.append(CheckResult("FOLDERS", "directory /data/dataset", FAIL, detail))
        results.append(CheckResult("SUDO", "sudo policy", SKIP, "disabled in the config"))
        return CheckReport(results)

    def fix(self, cfg, *, dry_run: bool, reporter) -> SetupReport:
        self._record("fix", cfg, dry_run=dry_run)
        status = StepStatus.PLANNED if dry_run else StepStatus.CHANGED
        step = StepResult("FOLDERS", "the folder layout", status, ["chmod /data/dataset 3775"])
        return SetupReport([step], [])

    # -- users -------------------------------------------------------------------

    def check_username(self, name: str) -> None:
        check_username_syntax(name)

    def user_groups(self, cfg) -> list[str]:
        return ["docker", "lab"]

    def add_user(self, cfg, request, *, dry_run: bool) -> AddResult:
        self._record("add_user", request, dry_run=dry_run)
        result = AddResult(request.name, 1002, True, ["create user " + request.name])
        if request.generate_key and not dry_run:
            keys = "/data/config/datakeeper/keys"
            result.private_key_path = f"{keys}/{request.name}_{request.generate_key}"
            result.fingerprints = ["SHA256:fakefingerprint"]
        return result

    def handout(self, cfg, result) -> Handout:
        return handout(cfg, result, host="gpu1.example")

    def list_users(self, cfg) -> list[UserSummary]:
        self._record("list_users", cfg)
        return list(USERS)

    def show_user(self, cfg, name: str) -> UserDetails:
        self._record("show_user", cfg, name)
        row = next(r for r in USERS if r.name == name)
        return UserDetails(**{**vars(row), "size_bytes": 5 << 20}, registry=None)

    def preview_removal(self, cfg, request) -> RemovalPreview:
        self._record("preview_removal", request)
        usage = TreeUsage(allocated_bytes=5 * 1024 * 1024, files=12, directories=3)
        home = HomeState(Path(f"/data/users/{request.name}"), "directory", (1, 2), 1001, usage)
        link = LinkState(Path(f"/home/{request.name}"), "link", str(home.path))
        target = Target(request.name, 1001, 1001, True, True)
        archive = Path("/backup/archive/bob-20240101") if request.data == "archive" else None
        sessions = [LoginSession("pts/1", "10.0.0.5", "2024-01-01T10:00:00", 4242)]
        sessions = sessions if self.logged_in else []
        return RemovalPreview(
            target, ("bob", "gpu-users"), home, link, sessions, [], archive, request.data
        )

    def plan_removal(self, cfg, request, preview) -> RemovalPlan:
        """The sentences the engine plans for bob (see ``removal_sentences``)."""
        self._record("plan_removal", request)
        sentences = removal_sentences(request.data, request.kill_sessions)
        return RemovalPlan(preview, tuple(Change("fake", s, lambda: None) for s in sentences))

    def remove_user(self, cfg, request, preview) -> RemovalReport:
        self._record("remove_user", request)
        change = Change(f"account {request.name}", f"delete account {request.name}", lambda: None)
        return RemovalReport(preview, request.data, False, [change], [change])

    def plan_migration(self, cfg, name: str, target: str) -> MigrationPlan | None:
        self._record("plan_migration", cfg, name, target)
        home = f"/data/users/{name}"
        journal = Journal(
            Path(f"/data/config/datakeeper/migrations/{name}.json"), name, 1001, "link",
            target, "20240101T120000", HomeBefore("symlink", home), FolderBefore(False),
        )  # fmt: skip
        moves = [(f"{home}/.bashrc", f"{home}/dotfiles/.bashrc")]
        return MigrationPlan(journal, False, moves)

    def migrate_user(self, cfg, name: str, target: str) -> MigrationReport:
        self._record("migrate_user", cfg, name, target)
        return MigrationReport(name, target, "migrated", verify={"entries": 12})

    def rollback_user(self, cfg, name: str) -> MigrationReport:
        self._record("rollback_user", cfg, name)
        return MigrationReport(name, "link", "rolled-back", verify={"entries": 12})

    # -- packages, recovery ------------------------------------------------------

    def packages_note(self) -> str:
        from datakeeper.features.packages import wiped_note

        return wiped_note()

    def package_status(self, cfg) -> list[PackageStatus]:
        self._record("package_status")
        installed: set[str] = set()
        for args, _kwargs in self.called("install_packages"):
            installed |= set(args[1]) - {"nvtop"}  # nvtop fails (see install_packages)
        return [
            PackageStatus(p, p.name in installed or p.name == "jq", recorded=False)
            for p in catalogue()
        ]

    def install_packages(self, cfg, names, *, dry_run: bool, listener) -> list[PackageResult]:
        self._record("install_packages", cfg, list(names), dry_run=dry_run)
        known = {p.name: p for p in catalogue()}
        results = []
        for index, name in enumerate(names, start=1):
            listener.started(
                index, len(names), known.get(name) or Package(name, "apt", name, (), "")
            )
            if name == "nvtop":
                failed = InstallStatus.FAILED
                result = PackageResult(name, failed, error="apt-get install nvtop failed")
            else:
                status = InstallStatus.WOULD_INSTALL if dry_run else InstallStatus.INSTALLED
                result = PackageResult(name, status, [f"install the OS package {name}"])
            listener.finished(result)
            results.append(result)
        return results

    def recovery_status(self, cfg) -> RecoveryStatus:
        self._record("recovery_status")
        enabled = bool(self.called("recovery_enable"))
        login_check = FileState(Path("/etc/profile.d/00-recovery-check.sh"), enabled, enabled)
        return RecoveryStatus(
            enabled=enabled,
            files=[login_check],
            systemd_running=False,
            units={},
            install=Path("/data/apps/datakeeper/current/bin/datakeeper"),
            last_run=None,
            done_marker=False,
            hook=self.hook,
        )

    def recovery_enable(self, cfg):
        self._record("recovery_enable")
        change = Change("file", "create /etc/profile.d/00-recovery-check.sh", lambda: None)
        return BootResult(Outcome(False, [change], [change]), ["run the hook line at boot"])

    def recovery_disable(self, cfg):
        self._record("recovery_disable")
        return BootResult(Outcome(False))

    def recover(self, cfg, *, reporter) -> RecoveryReport:
        self._record("recover")
        report = RecoveryReport()
        for result in (
            StepResult("USER", "bob", StepStatus.CHANGED, ["create user bob"]),
            StepResult("USER", "carol", StepStatus.FAILED, errors=["uid 1003 is taken"]),
        ):
            reporter.step_finished(result)
            report.users.append(result)
        return report

    # -- operations ----------------------------------------------------------------

    def disk_report(self, cfg, *, listener) -> DiskReport:
        self._record("disk_report")
        listener.started(2)
        listener.scanning(Path("/data/models"), 10)
        report = DiskReport(
            [
                RootUsage(Path("/data"), True, 100 << 30, 60 << 30, 40 << 30),
                RootUsage(Path("/backup"), False),
            ]
        )
        report.shared = [
            FolderUsage(Path("/data/models"), 30 << 30, 1200),
            FolderUsage(Path("/data/cache/conda/pkgs"), 3 << 30, 400),
        ]
        report.homes = [FolderUsage(Path("/data/users/bob"), 12 << 30, 5000, user="bob")]
        listener.finished(None)
        listener.finished(None)
        return report

    def env_info(self, cfg) -> EnvInfo:
        self._record("env_info")
        variables = [
            Variable("HF_HOME", "shared", "/data/models/huggingface", None, True, True),
            Variable(
                "CONDA_ENVS_PATH",
                "personal",
                "/home/bob/conda/envs",
                "/home/bob/conda/envs",
                False,
                True,
            ),
        ]
        return EnvInfo(
            "bob",
            1001,
            ["bob", "gpu-users"],
            "gpu-users",
            True,
            0o022,
            0o002,
            "/home/bob",
            "/data/users/bob",
            True,
            variables,
            {"conda": "/data/apps/miniconda3/bin/conda", "uv": None},
            [],
            ["umask is 022; the group needs 002"],
        )

    def guide(self, cfg, topic=None):
        self._record("guide", topic)
        return guide(cfg, topic)

    def list_caches(self, cfg) -> list:
        self._record("list_caches")
        return self._caches()

    def _caches(self) -> list:
        return [
            (
                CacheLocation("conda", "conda packages", Path("/data/cache/conda/pkgs"), True),
                Usage(3 << 30, 400),
            ),
            (
                CacheLocation("huggingface", "huggingface hub", Path("/data/models/hf/hub"), True),
                Usage(exists=False),
            ),
            (
                CacheLocation(
                    "huggingface", "huggingface datasets", Path("/data/models/hf/ds"), True, False
                ),
                Usage(1 << 30, 10),
            ),
            (CacheLocation("pip", "pip", Path("/home/bob/.cache/pip"), False), Usage(5 << 20, 9)),
        ]

    def plan_clean(self, cfg, kinds, age_days) -> CleanRun:
        self._record("plan_clean", list(kinds), age_days)
        planned = []
        for location, _usage in self._caches():
            if location.kind in kinds and location.cleanable:
                files = 0 if location.kind == "huggingface" else 2
                method = _Method("sudo helper")
                method.found = CacheScan(
                    files, 2048 * files, ["pkgs/a.conda", "pkgs/b.conda"][:files]
                )
                cleanup = CacheCleanup(location.kind, location.path, method, age_days, shared=True)
                cleanup.plan()
                planned.append(KindReport(location, cleanup))
        return CleanRun(cfg, True, planned)

    def clean_caches(self, plan) -> CleanRun:
        self._record("clean_caches", [kind.location.kind for kind in plan.kinds])
        for kind in plan.kinds:
            kind.resource.cleaned = Cleaned(kind.scan.files, kind.scan.size)
            kind.status = CleanupStatus.DONE
        return CleanRun(plan.cfg, False, plan.kinds)

    def gpu_view(self, *, mine_only: bool) -> ViewerView:
        self._record("gpu_view", mine_only=mine_only)
        if self.gpus_missing:
            snapshot = GpuSnapshot(False, 0.0, reason="NVML Shared Library Not Found")
        else:
            snapshot = GpuSnapshot(
                True, 0.0, driver="550.54.15", gpus=GPUS, processes=GPU_PROCESSES
            )
        return for_viewer(snapshot, 1001 if mine_only else 0)  # the researcher is bob

    # -- backups -----------------------------------------------------------------

    def backup_status(self, cfg) -> BackupStatus:
        self._record("backup_status")
        ran = bool(self.called("run_backup"))
        last = LastRun(
            "2026-12-04T02:30:07+00:00",
            True,
            True,
            "snapshot 2026-12-04T023000Z: 12 files, 3.0 KiB (1.0 KiB added)",
        )
        if ran:
            last = LastRun(
                "2026-12-04T10:00:09+00:00", True, False, "snapshot 2026-12-04T100000Z: 13 files"
            )
        return BackupStatus("cron", "*-*-* 02:30:00", True, True, "cron: 30 2 * * *", last)

    def list_backups(self, cfg) -> list[SnapshotInfo]:
        self._record("list_backups")
        root = Path("/backup/datakeeper/snapshots")
        rows = [
            SnapshotInfo(
                "2026-12-03T023000Z", root / "2026-12-03T023000Z", "verified", 3072, 3072, 12
            ),
            SnapshotInfo(
                "2026-12-04T023000Z", root / "2026-12-04T023000Z", "complete", 3072, 1024, 12
            ),
            SnapshotInfo("2026-12-04T090000Z", root / "2026-12-04T090000Z.partial", "partial"),
        ]
        if self.called("run_backup"):
            rows.append(
                SnapshotInfo(
                    "2026-12-04T100000Z", root / "2026-12-04T100000Z", "complete", 4096, 1024, 13
                )
            )
        if self.called("prune_backups"):
            rows = [row for row in rows if row.state != "partial"]
        return rows

    def run_backup(self, cfg) -> RunReport:
        self._record("run_backup")
        change = Change(
            "backup snapshot /backup/datakeeper/snapshots",
            "take snapshot 2026-12-04T100000Z of /data/users (about 1.0 KiB new)",
            _noop,
            result="snapshot 2026-12-04T100000Z: 13 files, 4.0 KiB (1.0 KiB added)",
        )
        return RunReport(Outcome(dry_run=False, applied=[change]), None)

    def plan_prune(self, cfg) -> PrunePlan:
        self._record("plan_prune")
        if self.called("prune_backups"):
            return PrunePlan([], {})
        return PrunePlan(
            [
                _Removal(
                    "2026-12-04T090000Z.partial",
                    "an interrupted run, older than the newest complete snapshot",
                )
            ],
            {},
        )

    def prune_backups(self, cfg, plan) -> Outcome:
        self._record("prune_backups", len(plan.removals))
        return Outcome(
            dry_run=False, applied=[c for removal in plan.removals for c in removal.plan()]
        )

    def verify_backup(self, cfg, name: str | None = None) -> Verdict:
        self._record("verify_backup", name)
        return Verdict("2026-12-04T023000Z", checked=12, hashed=12)

    def browse_backup(self, cfg, path, snapshot) -> Listing:
        self._record("browse_backup", path, snapshot)
        listing = Listing("2026-12-04T023000Z", str(path or "/data/users"))
        listing.entries += [
            BrowseEntry("notes.txt", "file", 2048, 1764815400.0, 1001),
            BrowseEntry("proj", "folder", 4096, 1764815400.0, 1001),
            BrowseEntry("evil", "link", 0, 1764815400.0, 1001, "/etc/shadow"),
        ]
        return listing

    def restore_backup(self, cfg, path, snapshot) -> Outcome:
        self._record("restore_backup", path, snapshot)
        name = f"{path}.restored-2026-12-04T023000Z"
        summary = f"restore {path} from snapshot 2026-12-04T023000Z as {name}"
        return Outcome(dry_run=False, applied=[Change(f"restore {path}", summary, _noop)])

    def browse_my_files(self, cfg, path, snapshot) -> str:
        self._record("browse_my_files", path, snapshot)
        return "snapshot 2026-12-04T023000Z: ~\n  2.0 KiB  notes.txt\n        -  proj/\n"

    def restore_my_files(self, cfg, path, snapshot) -> str:
        self._record("restore_my_files", path, snapshot)
        return f"restored {path} as {path}.restored-2026-12-04T023000Z\n"


def _noop() -> None:
    return None


class _Removal:
    """A snapshot the fake prune removes (the real one reads the backup disk)."""

    def __init__(self, name: str, why: str) -> None:
        self.name, self.why = name, why

    def plan(self) -> list[Change]:
        summary = f"remove snapshot {self.name} ({self.why})"
        return [Change(f"backup snapshot {self.name}", summary, _noop)]


class _Method:
    """A cache method that finds ``found`` and removes nothing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found = CacheScan()

    def scan(self) -> CacheScan:
        return self.found

    def clean(self) -> Cleaned:
        return Cleaned()


class _Step:
    """What a SetupReporter's ``step_started`` gets (the feature's Step has more)."""

    def __init__(self, key: str, title: str) -> None:
        self.key, self.title = key, title


def removal_sentences(data: str, kill_sessions: bool) -> list[str]:
    """What the engine plans to remove bob (uid 1001, home /data/users/bob, 12 files)."""
    ended = ["end 1 process of bob (SIGTERM, then SIGKILL after 5 s): 4242 bash"]
    moved = {
        "keep": [],
        "archive": [
            "create directory /backup/archive (root:root 0700)",
            "archive /data/users/bob to /backup/archive/bob-20240101 (rename, same filesystem)",
        ],
        "purge": [
            "DELETE /data/users/bob (12 files, 5242880 bytes allocated), following no symlink"
        ],
    }
    return [
        "lock and expire account bob (no new logins during the removal)",
        *(ended if kill_sessions else []),
        *moved[data],
        "forget bob in the registry (recovery will not recreate it)",
        "remove the link /home/bob -> /data/users/bob",
        "delete account bob (uid 1001) and its private group bob (gid 1001); files are not touched",
    ]
