"""One month end to end: load, map, match. What ``recon reconcile`` and the notebooks call.

Example:
    >>> rec = reconcile_period(Workspace.open("data"), Period.parse("2026-10"))
    >>> rec.findings.groupby("kind")["impact"].count()
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Settings, Workspace
from recon_helpers.ingest.load import LoadedPeriod, load_period
from recon_helpers.reconcile.discrepancies import unmapped_findings, unmapped_masks
from recon_helpers.reconcile.engine_duckdb import choose_engine, reconcile_duckdb
from recon_helpers.reconcile.expectations import missing_sources
from recon_helpers.reconcile.holds import MissingSource
from recon_helpers.reconcile.licences import LicenceInputs, licence_inputs
from recon_helpers.reconcile.mapping import (
    assign_clients,
    check_used_rows,
    customer_key,
    customers_of,
    known_clients,
    known_products,
    lower,
    read_client_map,
    read_ignore_map,
    read_product_map,
)
from recon_helpers.reconcile.matching import MonthTables, delivered_month, promised_month, three_way
from recon_helpers.reconcile.result import Reconciliation, assemble


def reconcile(
    loaded: LoadedPeriod,
    client_map: pd.DataFrame,
    product_map: pd.DataFrame,
    settings: Settings,
    ignore_map: pd.DataFrame | None = None,
    missing: tuple[MissingSource, ...] = (),
    licences: LicenceInputs | None = None,
) -> Reconciliation:
    """Map and match one loaded month (pure: no files touched).

    Args:
        licences: as-of date, horizon and mapping files of the Microsoft licence rules
            (reconcile/licences.py); default as of the period's last day.
        ignore_map: read_ignore_map() (vendor customers deliberately not billed).
        missing: the sources the month expects that are missing or stale
            (:func:`recon_helpers.reconcile.expectations.missing_sources`).

    Returns:
        Reconciliation whose ``findings`` has FINDING_COLUMNS, ordered stably.

    Raises:
        ConfigError: a mapping row the month uses names an unknown client or product.
    """
    period = loaded.period
    clients = known_clients(loaded.clients, loaded.promised, loaded.billed)
    keys = customer_key(loaded.delivered)  # once: map_customers and delivered_month need it
    customers = assign_clients(customers_of(loaded.delivered, keys), clients, client_map,
                               ignore_map)
    d = loaded.delivered
    check_used_rows(customers, clients, client_map, ignore_map,
                    set(zip(lower(d["vendor"]), lower(d["vendor_sku"]), strict=True)),
                    product_map, known_products(loaded))
    month = MonthTables(
        delivered=delivered_month(loaded.delivered, customers, product_map, period, settings,
                                  cust_key=keys),
        promised=promised_month(loaded.promised, period, settings),
        billed=loaded.billed,
    )
    tw = three_way(month, loaded.catalogue, product_map, settings)
    unmapped = month.delivered[unmapped_masks(month.delivered)["unmapped_product"]]
    return assemble(loaded, settings, clients, customers, month, tw,
                    unmapped_findings(month.delivered), unmapped, product_map, missing=missing,
                    licence_inputs=licences)


def reconcile_period(
    workspace: Workspace,
    period: Period,
    progress: Callable[[str], None] | None = None,
    engine: str | None = None,
    as_of: date | None = None,
) -> Reconciliation:
    """Load, map and match one month of a workspace.

    Args:
        progress: called with a short message per step ("reading <file>", then "mapping and
            matching <n> vendor lines").
        engine: "pandas", "duckdb" or "auto"; default recon.toml's ``engine`` (auto: DuckDB
            for a month whose canonical delivered files exceed ``[duckdb] auto_above_mb``).
        as_of: "today" of the licence rules (reduction windows, renewals); default the
            period's last day, so a month re-runs the same.

    Raises:
        ReconError: unreadable inputs or mapping files (names file, row and problem).
    """
    lic = licence_inputs(workspace, period, as_of)
    if choose_engine(workspace, period, engine) == "duckdb":
        return reconcile_duckdb(workspace, period, progress=progress, licences=lic)
    loaded = load_period(workspace, period, progress=progress)
    if progress:
        progress(f"mapping and matching {len(loaded.delivered):,} vendor lines")
    return reconcile(
        loaded,
        read_client_map(workspace.clients_map),
        read_product_map(workspace.products_map),
        workspace.settings(),
        read_ignore_map(workspace.ignore_map),
        missing_sources(workspace, period, loaded),
        lic,
    )
