"""Helpers behind the MSP billing-reconciliation workbook, one package per stage of the job.

Each package imports only from the packages below it (checked by the import contract in
``pyproject.toml``, run by ``make test``)::

    cli                     the `recon` commands
    render                  papermill: the monthly report, statements, the lab launcher
    present                 HTML, views, charts, widgets, the notebook context
    billing | analysis      expected invoices, adjustments, statements | margins, trends
    audit                   ledger, decisions, resolution status, sign-off
    reconcile               mapping, month rule, matching, discrepancies, the result record
    ingest                  readers, parsing, validation, format loaders, loading a month
    connect | demo          HTTP clients for the APIs | the bundled demo workspace
    core                    errors, schemas, Period, workspace, exact files

The notebooks import what they show from ``present`` (``ctx = context.open_period(...)``).
Nothing heavy is imported here, so ``recon --help`` stays fast.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
