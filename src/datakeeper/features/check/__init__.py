"""``datakeeper check``: the configuration test."""
