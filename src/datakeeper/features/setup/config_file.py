"""Create or update the site config file from init's answers, keeping the admin's comments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tomlkit

from datakeeper.config import SiteConfig, parse_config, render_config
from datakeeper.errors import ConfigError
from datakeeper.i18n import _

NO_BACKUP = ""


@dataclass(frozen=True)
class Answers:
    """Values given to ``init`` (flags or prompts); None = keep what the file says."""

    group: str | None = None
    admin: str | None = None
    data_root: str | None = None
    backup_root: str | None = None  # NO_BACKUP ("") means: no backup root


def prepare_config(path: Path, answers: Answers) -> tuple[SiteConfig, bytes | None]:
    """The config init will use, and the file content to write (None: leave the file).

    An existing file is updated in place with tomlkit, so the admin's comments
    and layout survive; a new file gets every value written out.
    """
    existing = _read(path)
    document = tomlkit.parse(existing) if existing is not None else tomlkit.document()
    _apply(document, answers)
    text = tomlkit.dumps(document)
    if existing is not None and text == existing:
        return parse_config(existing, str(path)), None
    cfg = parse_config(text, str(path))
    if existing is None:
        text = render_config(cfg)
    return cfg, text.encode()


def _apply(document: tomlkit.TOMLDocument, answers: Answers) -> None:
    for key in ("group", "admin"):
        value = getattr(answers, key)
        if value is not None and document.get(key) != value:
            document[key] = value
    storage = {"data_root": answers.data_root, "backup_root": answers.backup_root}
    for key, value in storage.items():
        if value is None:
            continue
        table = document.setdefault("storage", tomlkit.table())
        if table.get(key) != value:
            table[key] = value


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(_("{path}: cannot read: {why}").format(path=path, why=error)) from error
