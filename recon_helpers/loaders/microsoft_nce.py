"""Loader for microsoft_nce exports (to be written)."""

FORMATS: tuple = ()
