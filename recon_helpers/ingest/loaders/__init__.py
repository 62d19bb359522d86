"""One module per export format family (see :mod:`recon_helpers.ingest.registry`).

Each module defines :class:`~recon_helpers.ingest.loaders.base.SourceFormat` objects in a
``FORMATS`` tuple (and a ``LINKER`` where rows become canonical only once joined with the
family's other files); ``docs/DESIGN.md`` "Adding a format" says how to add one.
"""
