"""Adapters to OS facilities, one small module each, so the rest reads as intent."""
