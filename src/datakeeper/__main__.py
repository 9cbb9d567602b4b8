"""Allow ``python -m datakeeper``."""

from datakeeper.cli.app import main

main()
