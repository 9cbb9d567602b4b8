"""The sudo helper: standard library only, importing nothing from features."""
