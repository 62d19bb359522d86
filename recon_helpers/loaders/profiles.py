"""Loader for profiles exports (to be written)."""

FORMATS: tuple = ()
