"""Reproductions of attacks on datakeeper, each run in a disposable server."""
