"""Bringing everything back after a wipe, and the boot integration that runs it."""
