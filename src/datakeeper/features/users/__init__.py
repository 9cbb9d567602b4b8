"""Researchers' accounts: add, inspect, change, keys, passwords, sessions."""
