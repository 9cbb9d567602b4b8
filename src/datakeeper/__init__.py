"""datakeeper: keeps a multi-user GPU server whose root disk is wiped on reboot."""

__version__ = "0.1.0"
