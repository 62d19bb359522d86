"""Loader for pax8 exports (to be written)."""

FORMATS: tuple = ()
