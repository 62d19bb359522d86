"""Loader for autotask exports (to be written)."""

from recon_helpers.loaders.base import LinkResult, Linker

FORMATS: tuple = ()
LINKER = Linker("autotask", frozenset(), lambda entities, options: LinkResult({}))
