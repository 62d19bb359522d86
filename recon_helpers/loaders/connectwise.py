"""Loader for connectwise exports (to be written)."""

from recon_helpers.loaders.base import LinkResult, Linker

FORMATS: tuple = ()
LINKER = Linker("connectwise", frozenset(), lambda entities, options: LinkResult({}))
