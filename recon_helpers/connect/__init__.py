"""Clients for the vendor and PSA APIs behind ``recon pull`` (and, later, ``recon apply``).

Layout:

* :mod:`~recon_helpers.connect.http`: the shared client (timeouts, retries, 429, redaction,
  one request log) and :mod:`~recon_helpers.connect.paging` (next links, loop guard);
* :mod:`~recon_helpers.connect.secrets` and :mod:`~recon_helpers.connect.settings`:
  credentials from the environment or the OS keyring, ``[pull.<source>]`` from recon.toml;
* one module per source (``connectwise``, ``autotask``, ``pax8``, ``microsoft``,
  ``datto_rmm``, ``sentinelone``, ``huntress``) with a ``SPEC`` and a ``pull(ctx)``;
* :mod:`~recon_helpers.connect.pull` (orchestration), :mod:`~recon_helpers.connect.staging`
  (temporary folder, atomic swap, ``--replace``), :mod:`~recon_helpers.connect.provenance`
  (``pull-log.json`` and each file's origin; standard library only, so loaders may import it).

This package sits just above ``core`` and imports nothing else of the project (``ingest``
reads :mod:`~recon_helpers.connect.provenance` for the inventory's ``origin`` column).
Importing it loads nothing heavy: httpx is imported by the modules that talk HTTP.

Example:
    >>> from recon_helpers.connect.pull import pull_month
    >>> pull_month(Workspace.open("data"), Period.parse("2026-10"), sources=["pax8"])
"""
