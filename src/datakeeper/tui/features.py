"""The feature functions the TUI calls, in one object so tests can pass fakes.

Each method only forwards to the same function the CLI calls; none decides
anything of its own. The screens see it as ``tui.contract.MenuFeatures``; a
test passes a fake with the same methods (checked against that contract) that
records the calls.

Every method imports its feature when first called, not at the top: loading
the features (engine, resources, pydantic) takes ~0.3 s, and the menu must
open at once. Tests replace a feature function in its own module for the same
reason: it is looked up at call time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datakeeper.features.users.handout import Handout
    from datakeeper.features.users.info import UserDetails, UserSummary


class Features:
    """The real features, for the site config at ``config_override`` (or the default)."""

    def __init__(self, config_override: Path | None = None) -> None:
        self.config_override = config_override

    # -- config and setup ------------------------------------------------------

    def config_path(self) -> Path:
        """``datakeeper.config.resolve_config_path``."""
        from datakeeper.config import resolve_config_path

        return resolve_config_path(self.config_override)

    def load_config(self, *, missing_ok: bool = False):
        """``datakeeper.config.load_config``."""
        from datakeeper.config import load_config

        return load_config(self.config_path(), missing_ok=missing_ok)

    def setup_defaults(self):
        """init's defaults for a new config (None, keep the file's value, when it exists)."""
        from datakeeper.features.setup.answers import resolve_answers
        from datakeeper.features.setup.config_file import Answers

        return resolve_answers(self.config_path(), Answers())

    def prepare_setup(self, answers):
        """The site config init would write, checked, as a SetupContext."""
        from datakeeper.features.setup.config_file import prepare_config
        from datakeeper.features.setup.init import check_preconditions
        from datakeeper.features.setup.steps import SetupContext

        cfg, text = prepare_config(self.config_path(), answers)
        check_preconditions(cfg)
        return SetupContext(cfg, self.config_path(), text)

    def setup_steps(self, context):
        """``datakeeper.features.setup.steps.build_steps``: the steps in order (key, title,
        and ``critical``: whether a failure stops the steps after it)."""
        from datakeeper.features.setup.steps import build_steps

        return build_steps(context)

    def run_setup(self, context, *, dry_run: bool, reporter, only: tuple[str, ...] = ()):
        """``datakeeper.features.setup.init.run_setup`` (every step, or only those in ``only``)."""
        from datakeeper.features.setup.init import run_setup

        return run_setup(context, dry_run=dry_run, reporter=reporter, only=only)

    def run_checks(self, cfg):
        """``datakeeper.features.check.run.run_checks``."""
        from datakeeper.features.check.run import run_checks

        return run_checks(cfg, self.config_path())

    def fix(self, cfg, *, dry_run: bool, reporter):
        """``datakeeper.features.check.fix.fix``: what ``check --fix`` does."""
        from datakeeper.features.check.fix import fix
        from datakeeper.features.setup.steps import SetupContext

        context = SetupContext(cfg, self.config_path())
        return fix(context, dry_run=dry_run, reporter=reporter)

    # -- users -------------------------------------------------------------------

    def check_username(self, name: str) -> None:
        """``datakeeper.features.users.names.check_username_syntax``."""
        from datakeeper.features.users.names import check_username_syntax

        check_username_syntax(name)

    def user_groups(self, cfg) -> list[str]:
        """Groups a new user may join: non-system groups, not personal ones, not the site's."""
        import grp

        from datakeeper.system import accounts, logindefs

        low, high = logindefs.uid_min(), logindefs.uid_max()
        names = []
        for group in grp.getgrall():
            personal = accounts.primary_users(group.gr_gid) == (group.gr_name,)
            if low <= group.gr_gid <= high and not personal and group.gr_name != cfg.group:
                names.append(group.gr_name)
        return sorted(names)

    def add_user(self, cfg, request, *, dry_run: bool):
        """``datakeeper.features.users.add.add_user``."""
        from datakeeper.features.users.add import add_user

        return add_user(cfg, request, dry_run=dry_run)

    def handout(self, cfg, result) -> Handout:
        """``datakeeper.features.users.handout.handout``."""
        from datakeeper.features.users.handout import handout

        return handout(cfg, result)

    def list_users(self, cfg) -> list[UserSummary]:
        """``datakeeper.features.users.info.list_users``."""
        from datakeeper.features.users.info import list_users

        return list_users(cfg)

    def show_user(self, cfg, name: str) -> UserDetails:
        """``datakeeper.features.users.info.show_user``."""
        from datakeeper.features.users.info import show_user

        return show_user(cfg, name)

    def preview_removal(self, cfg, request):
        """``datakeeper.features.users.remove.preview.preview_removal``."""
        from datakeeper.features.users.remove.preview import preview_removal

        return preview_removal(cfg, request)

    def plan_removal(self, cfg, request, preview):
        """``datakeeper.features.users.remove.plan.plan_removal``: the engine's dry run."""
        from datakeeper.features.users.remove.plan import plan_removal

        return plan_removal(cfg, request, preview)

    def remove_user(self, cfg, request, preview):
        """``datakeeper.features.users.remove.removal.remove_user``."""
        from datakeeper.features.users.remove.removal import remove_user

        return remove_user(cfg, request, preview, dry_run=False)

    def plan_migration(self, cfg, name: str, target: str):
        """``datakeeper.features.users.migrate.plan.prepare``: None when already there."""
        from datakeeper.features.users.migrate.plan import MigrateRequest, prepare

        return prepare(cfg, MigrateRequest(name, target))

    def migrate_user(self, cfg, name: str, target: str):
        """``datakeeper.features.users.migrate.run.migrate_user``."""
        from datakeeper.features.users.migrate.plan import MigrateRequest
        from datakeeper.features.users.migrate.run import migrate_user

        return migrate_user(cfg, MigrateRequest(name, target), dry_run=False)

    def rollback_user(self, cfg, name: str):
        """``datakeeper.features.users.migrate.run.rollback_user``."""
        from datakeeper.features.users.migrate.run import rollback_user

        return rollback_user(cfg, name, dry_run=False)

    # -- packages, recovery ------------------------------------------------------

    def packages_note(self) -> str:
        """``datakeeper.features.packages.wiped_note``."""
        from datakeeper.features.packages import wiped_note

        return wiped_note()

    def package_status(self, cfg) -> list:
        """``datakeeper.features.packages.package_status``."""
        from datakeeper.features.packages import package_status

        return package_status(cfg)

    def install_packages(self, cfg, names: list[str], *, dry_run: bool, listener):
        """``datakeeper.features.packages.install_packages``."""
        from datakeeper.features.packages import install_packages

        return install_packages(cfg, names, dry_run=dry_run, listener=listener)

    def recovery_status(self, cfg):
        """``datakeeper.features.recovery.boot.status``."""
        from datakeeper.features.recovery.boot import status

        return status(cfg, self.config_path().absolute())

    def recovery_enable(self, cfg):
        """``datakeeper.features.recovery.boot.enable``."""
        from datakeeper.features.recovery.boot import enable

        return enable(cfg, self.config_path().absolute(), dry_run=False)

    def recovery_disable(self, cfg):
        """``datakeeper.features.recovery.boot.disable``."""
        from datakeeper.features.recovery.boot import disable

        return disable(cfg, dry_run=False)

    def recover(self, cfg, *, reporter):
        """``datakeeper.features.recovery.recover.recover``."""
        from datakeeper.features.recovery.recover import recover

        return recover(cfg, self.config_path(), dry_run=False, reporter=reporter)

    # -- operations ----------------------------------------------------------------

    def disk_report(self, cfg, *, listener):
        """Scanned in this process (jobs=1): forking from a threaded app is unsafe."""
        from datakeeper.features.disk.usage import disk_report

        return disk_report(cfg, jobs=1, listener=listener)

    def env_info(self, cfg):
        """``datakeeper.features.envinfo.gather``."""
        from datakeeper.features.envinfo import gather

        return gather(cfg)

    def guide(self, cfg, topic: str | None = None):
        """``datakeeper.features.guides.guide``."""
        from datakeeper.features.guides import guide

        return guide(cfg, topic)

    def list_caches(self, cfg) -> list:
        """``datakeeper.features.caches.clean.list_caches``: (location, usage) of each cache."""
        from datakeeper.features.caches.clean import list_caches

        return list_caches(cfg)

    def plan_clean(self, cfg, kinds: list[str], age_days: int | None):
        """``datakeeper.features.caches.clean.plan_clean``: what cleaning would remove."""
        from datakeeper.features.caches.clean import plan_clean

        return plan_clean(cfg, kinds, age_days)

    def clean_caches(self, plan):
        """``datakeeper.features.caches.clean.clean``: clean what was planned (members: sudo)."""
        from datakeeper.features.caches.clean import clean

        return clean(plan)

    def gpu_view(self, *, mine_only: bool):
        """``datakeeper gpu``: the GPUs, and the processes this user may see in detail."""
        from datakeeper.features.gpu.by_user import for_viewer
        from datakeeper.features.gpu.snapshot import take_snapshot

        return for_viewer(take_snapshot(), os.geteuid() if mine_only else 0)

    # -- backups -----------------------------------------------------------------

    def backup_status(self, cfg):
        """``datakeeper.features.backup.schedule.backup_status``."""
        from datakeeper.features.backup.schedule import backup_status

        return backup_status(cfg, self.config_path().absolute())

    def list_backups(self, cfg) -> list:
        """``datakeeper.features.backup.listing.list_backups``."""
        from datakeeper.features.backup.listing import list_backups

        return list_backups(cfg)

    def run_backup(self, cfg):
        """``datakeeper.features.backup.last_run.run_recorded`` (as ``backup run``)."""
        from datakeeper.features.backup.last_run import run_recorded

        return run_recorded(cfg, self.config_path(), dry_run=False)

    def plan_prune(self, cfg):
        """``datakeeper.features.backup.prune.plan_prune``."""
        from datakeeper.features.backup.prune import plan_prune

        return plan_prune(cfg)

    def prune_backups(self, cfg, plan):
        """``datakeeper.features.backup.prune.prune`` of what was planned and shown."""
        from datakeeper.features.backup.prune import prune

        return prune(cfg, plan, dry_run=False)

    def verify_backup(self, cfg, name: str | None = None):
        """``datakeeper.features.backup.verify.verify_snapshot``."""
        from datakeeper.features.backup.verify import verify_snapshot

        return verify_snapshot(cfg, name)

    def browse_backup(self, cfg, path: Path | None, snapshot: str | None):
        """``datakeeper.features.backup.browse.browse`` (the admin's, in-process)."""
        from datakeeper.features.backup.browse import browse

        return browse(cfg, path, snapshot)

    def restore_backup(self, cfg, path: Path, snapshot: str | None):
        """``datakeeper.features.backup.restore.restore`` beside the original."""
        from datakeeper.features.backup.restore import RestoreRequest, restore

        return restore(cfg, RestoreRequest(path, snapshot), dry_run=False)

    def browse_my_files(self, cfg, path: Path | None, snapshot: str | None) -> str:
        """A member's ``backup browse``: the sudo helper's listing of their own files."""
        from datakeeper.features.backup.member import MemberRequest, ask_helper

        return ask_helper(cfg, "backup-browse", MemberRequest(path or Path.home(), snapshot))

    def restore_my_files(self, cfg, path: Path, snapshot: str | None) -> str:
        """A member's ``backup restore PATH``: through the sudo helper, beside the original."""
        from datakeeper.features.backup.member import MemberRequest, ask_helper

        return ask_helper(cfg, "backup-restore", MemberRequest(path, snapshot))
