"""``datakeeper gpu``: who holds which GPU (snapshot), totals per user, idle holders."""
