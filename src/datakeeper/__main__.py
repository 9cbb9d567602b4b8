"""Allow ``python -m datakeeper``."""

from datakeeper.cli.entry import console

console()
