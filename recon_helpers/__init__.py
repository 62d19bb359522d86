"""Helpers behind the MSP billing-reconciliation workbook.

The notebooks import modules by name, e.g.::

    from recon_helpers.reconcile.run import run as reconcile

    from recon_helpers.render import report

    from recon_helpers.present import views
    rec = reconcile.reconcile_period(Workspace.open("data"), "2026-10")

Modules: ``workspace`` (paths, recon.toml), ``readers``/``parsing``/``validation``/``loaders``
(ingest), ``mapping``, ``proration``, ``matching``, ``reconcile``, ``summary``, ``ledger``,
``signoff``, ``exports``, ``report``, ``charts``, ``views``, ``trends``, ``demo``, ``cli``.
Nothing heavy is imported here, so ``recon --help`` stays fast.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
