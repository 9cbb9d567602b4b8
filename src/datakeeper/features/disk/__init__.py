"""Disk usage, the usage scanner, the disk alert and its schedule."""
