"""Offboarding: the request and its checks, the preview, the engine's plan, the removal."""
