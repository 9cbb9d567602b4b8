"""Offboarding: the account side, the home's data, the whole removal."""
