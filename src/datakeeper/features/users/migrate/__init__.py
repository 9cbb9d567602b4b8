"""Moving a home between the link and hybrid layouts: plan, journal, steps, verify, rollback."""
