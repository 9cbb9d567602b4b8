"""What ``datakeeper --help`` shows, without Typer: the root's texts and the commands.

Both the command line (``cli/app.py``, commands loaded on use by
``cli/lazy.py``) and the quick answer to ``--help`` (``cli/quick.py``) read
them from here. The texts are translated when these functions are called, not
when this module loads, so ``--version`` never reads a catalog.
"""

from __future__ import annotations

from collections import namedtuple

from datakeeper.i18n import _

COMPLETE_VAR = "_DATAKEEPER_COMPLETE"  # set by the shell scripts the ENV step installs


class CommandEntry(namedtuple("CommandEntry", "name target short_help help", defaults=(None,))):
    """One command: ``target`` is ``module:attribute`` in ``datakeeper.cli`` (a Typer app
    or a command function); ``help`` is a command function's long help (a Typer app
    carries its own)."""

    __slots__ = ()


class RootTexts(namedtuple("RootTexts", "help config dry_run json yes lang version")):
    """The root command's help and the help of each global option."""

    __slots__ = ()


def root_texts() -> RootTexts:
    """The root's texts in the current language."""
    return RootTexts(
        help=_("Keep a multi-user GPU server whose root disk is wiped on every reboot."),
        config=_("Site config file [default: /data/config/datakeeper.toml]."),
        dry_run=_("Print the plan and change nothing."),
        json=_("Machine-readable output for scripts."),
        yes=_("Do not ask for confirmation."),
        lang=_(
            "Language of the output [default: LANGUAGE, LC_ALL, LC_MESSAGES or LANG, "
            "else the site config's language]."
        ),
        version=_("Print the version."),
    )


def command_table() -> tuple[CommandEntry, ...]:
    """Every command in the order ``--help`` lists them, in the current language."""
    return (*_function_commands(), *_group_commands())


def _function_commands() -> tuple[CommandEntry, ...]:
    return (
        CommandEntry(
            "init",
            "init_cmd:init",
            _("Set the server up (six steps)."),
            _(
                "Set the server up: group, storage, folders, admin home, environment, sudo.\n\n"
                "Rerunning it changes nothing when everything is already as configured."
            ),
        ),
        CommandEntry(
            "check",
            "check_cmd:check",
            _("Test the server against the config."),
            _(
                "Check the server against the site config: PASS / FAIL / SKIP per item.\n\n"
                "Exit code 0 only when nothing failed."
            ),
        ),
        CommandEntry(
            "recover",
            "recover_cmd:recover",
            _("Bring accounts back after a wipe."),
            _(
                "Recreate groups, every registered account (same ids) and the environment.\n\n"
                "Refuses, writing nothing, when the data root is not the persistent disk. Exit "
                "code 1 when a user had to be skipped (the others are recovered)."
            ),
        ),
        CommandEntry(
            "gpu",
            "gpu_cmd:gpu",
            _("Who uses which GPU; idle holders."),
            _(
                "Each GPU (memory, utilisation, temperature, power) and the processes on it, with "
                "their users. Without an NVIDIA GPU or driver: one line, exit 0.\n\n"
                "Root sees every process; anyone else every GPU's load, their own processes, and "
                "the other users' processes as counts. --idle and --alert keep a small rolling "
                "sample (root: /run/datakeeper; others: $XDG_RUNTIME_DIR), so a holder counts as "
                "idle once successive runs have seen it idle that long."
            ),
        ),
        CommandEntry(
            "env",
            "env_cmd:env",
            _("Your environment, checked."),
            _(
                "Show who you are, your groups and umask, where your home really lives, the "
                "site's variables (does each path exist, can you write it), conda and uv, and the "
                "free space on the storage roots.\n\n"
                "Exit code 1 when something is not as the site wants it (each is explained)."
            ),
        ),
        CommandEntry(
            "guide",
            "env_cmd:guide",
            _("Help for researchers (data, conda, GPUs)."),
            _(
                "Help for researchers: where to put data, how models are shared, what a reboot "
                "wipes, umask; 'guide conda' for Python environments, 'guide gpu' for the GPUs."
            ),
        ),
        CommandEntry(
            "fix-permissions",
            "permissions_cmd:fix_permissions",
            _("Repair owners, groups and modes."),
            _(
                "Repair owners, groups and modes: --user NAME (their home) or --shared.\n\n"
                "Never follows a symlink; leaves hard-linked and special files alone. Never adds "
                "group write unless --grant-write asks for it (never on root's files). Exit code "
                "1 when an entry could not be changed."
            ),
        ),
    )


def _group_commands() -> tuple[CommandEntry, ...]:
    return (
        CommandEntry("recovery", "recovery_cmd:app", _("Recover at every boot, before logins.")),
        CommandEntry("user", "user_cmd:app", _("Add, show and change accounts.")),
        CommandEntry("config", "config_cmd:app", _("Show and validate the site config.")),
        CommandEntry("storage", "storage_cmd:app", _("Are the storage roots persistent?")),
        CommandEntry("log", "log_cmd:app", _("Show the action log.")),
        CommandEntry("disk", "disk_cmd:app", _("Disk usage; the disk-full alert.")),
        CommandEntry("packages", "packages_cmd:app", _("Admin tools for everyone (fzf, btop …).")),
        CommandEntry("backup", "backup_cmd:app", _("Snapshots of /data on /backup.")),
        CommandEntry("node", "node_cmd:app", _("Several servers sharing one /data.")),
        CommandEntry("cache", "cache_cmd:app", _("List and clean the shared caches.")),
    )
