"""Setup step SUDO: what group members may run as root, and the helper that does it.

Members of the site group may run, without a password, exactly: the helper's
``cache-clean KIND`` for each shared cache kind, alone or followed by
``--older-than AGE`` for each AGE of a fixed list, the helper's ``disk-usage``,
``df`` with no arguments or with ``-h``, and (with a backup root) the helper's
``backup-restore`` and ``backup-browse`` with no argument: their request comes
on stdin. The drop-in lists every command with its exact arguments (no
wildcards: see docs/security.md). The helper is
``datakeeper.helper.main`` with the site's values baked in, installed
root:root 0755 where no one else can write; it is never installed, and sudo
is never told to trust it, while its directory or any ancestor is writable by
someone other than root. The translations of its messages are baked in too
(``helper_text``), and the site's ``language`` for a caller whose locale names
none.
"""

from __future__ import annotations

import ast
import os
import pprint
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources as package_files
from pathlib import Path
from typing import TYPE_CHECKING

from datakeeper.engine.change import Change
from datakeeper.engine.resource import Resource
from datakeeper.errors import ConflictError, InvalidInputError
from datakeeper.features.backup.layout import DATA, snapshots_dir
from datakeeper.features.setup.helper_text import helper_translations
from datakeeper.helper.main import OLDER_THAN
from datakeeper.i18n import _
from datakeeper.managed import OwnedFilesManifest
from datakeeper.resources.file import ManagedFile, sha256
from datakeeper.resources.ownership import Ownership
from datakeeper.resources.sudoers import SudoersDropIn
from datakeeper.trust import audit_trusted_file, untrusted_ancestors

if TYPE_CHECKING:
    from datakeeper.config import SiteConfig

DF = "/usr/bin/df"
SHEBANG = "#!/usr/bin/python3 -I\n"
HELPER_OWNERSHIP = Ownership("root", "root", 0o755)
SUDOERS_SAFE_PATH = re.compile(r"^/[A-Za-z0-9/._+@-]+$")


def shared_cache_dirs(cfg: SiteConfig) -> dict[str, str]:
    """Cache kind -> absolute directory of the SHARED cache, for the kinds this site cleans."""
    shared, _personal = cfg.resolved_env()
    candidates = {
        "conda": _first_path(shared.get("CONDA_PKGS_DIRS")),
        "huggingface": shared.get("HF_HUB_CACHE") or _below(shared.get("HF_HOME"), "hub"),
        "torch": _below(shared.get("TORCH_HOME"), "hub"),
    }
    found = {}
    for kind in cfg.cache.kinds:
        directory = candidates.get(kind)
        if directory and os.path.isabs(directory):
            found[kind] = os.path.normpath(directory)
    return found


def _first_path(value: str | None) -> str | None:
    """CONDA_PKGS_DIRS may list several directories; the first is where conda writes."""
    return value.split(",")[0].strip() if value else None


def _below(value: str | None, name: str) -> str | None:
    return f"{value.rstrip('/')}/{name}" if value else None


def helper_policy(cfg: SiteConfig) -> dict:
    """The plain values baked into the helper as its ``POLICY``."""
    actions = ("cache-clean", "disk-usage", "backup-restore")
    allow = [action for action in actions if action in cfg.sudo.allow]
    caches = shared_cache_dirs(cfg) if "cache-clean" in allow else {}
    return {
        "allow": allow,
        "caches": caches,
        "storage_roots": [str(root) for root in cfg.storage_roots],
        "min_age_days": cfg.cache.min_age_days,
        "lock_dir": str(cfg.state_dir),
        "backup": _backup_policy(cfg) if "backup-restore" in allow else {},
        "language": cfg.language,
    }


def _backup_policy(cfg: SiteConfig) -> dict:
    """Where snapshots and the live homes are, for ``backup-restore``/``backup-browse``
    (nothing without a backup root: the helper then allows neither)."""
    if cfg.storage.backup_root is None:
        return {}
    return {
        "snapshots": str(snapshots_dir(cfg.storage.backup_root)),
        "homes_inside": f"{DATA}/{cfg.home.users_folder}",
        "homes": str(cfg.storage.data_root / cfg.home.users_folder),
    }


def render_helper_script(cfg: SiteConfig) -> bytes:
    """The helper program for this site: ``helper/main.py`` with the ``datakeeper``
    modules it imports inlined (all standard-library only), the site's POLICY and
    the translations of its messages baked in."""
    source = inline_imports(_module_source("datakeeper.helper.main"), set())
    translations = pprint.pformat(helper_translations(source), sort_dicts=True, width=88)
    policy = pprint.pformat(helper_policy(cfg), sort_dicts=False, width=88)
    source = _baked(source, {"TRANSLATIONS": translations, "POLICY": policy})
    banner = "# Written by datakeeper for this site; edits are overwritten.\n"
    return (SHEBANG + banner + source).encode()


def _baked(source: str, literals: dict[str, str]) -> str:
    """``source`` with its module-level assignment to each name of ``literals`` replaced
    by that name's literal (one parse of the source for all of them)."""
    lines = source.splitlines(keepends=True)
    spans = sorted(_assignment_lines(source, literals).items(), key=lambda item: item[1])
    for name, (start, end) in reversed(spans):  # from the end: earlier lines keep their place
        lines[start:end] = [f"{name} = {literals[name]}\n"]
    return "".join(lines)


def inline_imports(source: str, done: set[str]) -> str:
    """``source`` with each top-level ``from datakeeper.X import ...`` replaced by the
    code of module X (once; its own such imports inlined first), so it runs alone."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    position = 0
    for node in ast.parse(source).body:
        module = node.module if isinstance(node, ast.ImportFrom) else None
        if module and module.split(".")[0] == "datakeeper":
            out += lines[position : node.lineno - 1]
            if module not in done:
                done.add(module)
                out.append(inline_imports(_module_body(module), done))
            position = node.end_lineno or node.lineno
    return "".join(out + lines[position:])


def _module_source(module: str) -> str:
    parts = module.split(".")
    return (
        package_files.files(parts[0]).joinpath(*parts[1:-1], f"{parts[-1]}.py").read_text("utf-8")
    )


def _module_body(module: str) -> str:
    """The module's code without its docstring and ``from __future__`` import."""
    source = _module_source(module)
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for node in ast.parse(source).body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if docstring or future:
            drop.update(range(node.lineno - 1, node.end_lineno or node.lineno))
    kept = [line for index, line in enumerate(lines) if index not in drop]
    return f"# ---- inlined from {module} ----\n" + "".join(kept)


def _assignment_lines(source: str, names: Iterable[str]) -> dict[str, tuple[int, int]]:
    """The 0-based [start, end) line range of the module-level assignment to each of
    ``names``."""
    wanted, found = set(names), {}
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        targets = [node.target] if isinstance(node, ast.AnnAssign) else targets
        for target in targets:
            if isinstance(target, ast.Name) and target.id in wanted - found.keys():
                found[target.id] = (node.lineno - 1, node.end_lineno or node.lineno)
    missing = sorted(wanted - found.keys())
    if missing:
        raise RuntimeError(f"the helper has no {missing[0]} assignment")
    return found


def sudoers_commands(cfg: SiteConfig) -> list[str]:
    """Every command line the group may run, with its exact arguments."""
    helper = _sudoers_path(cfg.sudo.helper_path)
    policy = helper_policy(cfg)
    commands = []
    for kind in policy["caches"]:
        commands.append(f"{helper} cache-clean {kind}")
        commands += [f"{helper} cache-clean {kind} --older-than {age}" for age in OLDER_THAN]
    if "disk-usage" in policy["allow"]:
        commands += [f"{helper} disk-usage", f'{DF} ""', f"{DF} -h"]
    if policy["backup"]:
        commands += [f"{helper} backup-restore", f"{helper} backup-browse"]
    return commands


def render_sudoers(cfg: SiteConfig) -> bytes:
    """The drop-in text: a header, one ``Cmnd_Alias`` of exact commands, one rule."""
    lines = [
        "# Managed by datakeeper: edits are overwritten. Change sudo.allow and\n",
        "# cache.kinds in the site config instead, then run datakeeper again.\n",
    ]
    commands = sudoers_commands(cfg)
    if not commands:
        return "".join([*lines, "# The site config allows no command.\n"]).encode()
    alias = _alias_name(cfg.sudo.dropin_name)
    lines.append(f"Cmnd_Alias {alias} = " + ", \\\n    ".join(commands) + "\n")
    lines.append(f"%{cfg.group} ALL=(root) NOPASSWD: {alias}\n")
    return "".join(lines).encode()


def _alias_name(dropin_name: str) -> str:
    """An alias name sudo accepts (``[A-Z][A-Z0-9_]*``), unique per drop-in."""
    name = re.sub(r"[^A-Z0-9]", "_", dropin_name.upper()) + "_CMNDS"
    return name if name[0].isalpha() else f"DK_{name}"


def _sudoers_path(path: Path) -> str:
    """``path`` as a sudoers command, refused when it would need escaping."""
    text = str(path)
    if not SUDOERS_SAFE_PATH.match(text):
        raise InvalidInputError(
            _(
                'sudo.helper_path "{path}": use only letters, digits, "/", ".", "_", "+", '
                '"@" and "-" (it is written into the sudoers drop-in)'
            ).format(path=text)
        )
    return text


def require_trusted_directory(path: Path) -> None:
    """Raise ``ConflictError`` unless every directory above ``path`` is root's alone."""
    problems = untrusted_ancestors(path)
    if problems:
        raise ConflictError(
            _(
                "refusing to install or grant the sudo helper {path}: {problems}; "
                "fix this (or set sudo.helper_path to a root-only directory such as "
                "/usr/local/sbin) and run again"
            ).format(path=path, problems="; ".join(problems))
        )


@dataclass(frozen=True)
class HelperFile(ManagedFile):
    """The helper program, planned only when its directory and ancestors are trusted."""

    @property
    def id(self) -> str:
        return f"sudo helper {self.path}"

    def plan(self) -> list[Change]:
        require_trusted_directory(self.path)
        return super().plan()


@dataclass(frozen=True)
class GrantingDropIn(SudoersDropIn):
    """The sudoers drop-in, installed only over a trusted, exactly-as-rendered helper."""

    helper: Path = field(default=Path("/usr/local/sbin/datakeeper-helper"))
    helper_content: bytes = field(default=b"", repr=False)

    def plan(self) -> list[Change]:
        require_trusted_directory(self.helper)
        return super().plan()

    def _write(self) -> None:
        problems = audit_trusted_file(self.helper)
        if not problems and sha256(self._helper_bytes()) != sha256(self.helper_content):
            problems = [_("{path} is not the helper datakeeper wrote").format(path=self.helper)]
        if problems:
            raise ConflictError(
                _("not granting sudo to {path}: {problems}").format(
                    path=self.helper, problems="; ".join(problems)
                )
            )
        super()._write()

    def _helper_bytes(self) -> bytes:
        fd = os.open(self.helper, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()


def sudo_resources(cfg: SiteConfig, manifest: OwnedFilesManifest) -> list[Resource]:
    """The helper, then the drop-in that lets the group run it; nothing when sudo is off."""
    if not cfg.sudo.enabled:
        return []
    helper_path = cfg.sudo.helper_path
    script = render_helper_script(cfg)
    dropin = SudoersDropIn.named(cfg.sudo.dropin_name, render_sudoers(cfg), manifest)
    return [
        HelperFile(helper_path, script, HELPER_OWNERSHIP, manifest),
        GrantingDropIn(
            dropin.path,
            dropin.content,
            dropin.ownership,
            manifest,
            helper=helper_path,
            helper_content=script,
        ),
    ]
