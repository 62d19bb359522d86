"""One month end to end: load, map, match. What ``recon reconcile`` and the notebooks call.

Example:
    >>> rec = reconcile_period(Workspace.open("data"), "2026-10")
    >>> rec.findings.groupby("kind")["impact"].count()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from recon_helpers.loaders import LoadedPeriod, load_period
from recon_helpers.mapping import (
    client_suggestions,
    known_clients,
    map_customers,
    product_suggestions,
    read_client_map,
    read_product_map,
)
from recon_helpers.matching import (
    MonthTables,
    delivered_month,
    find_discrepancies,
    finding_sources,
    order_findings,
    promised_month,
    three_way,
    unmapped_findings,
)
from recon_helpers.schemas import DISCREPANCY_COLUMNS
from recon_helpers.workspace import Settings, Workspace

FINDING_COLUMNS = (*DISCREPANCY_COLUMNS, "key", "detail")


@dataclass
class Reconciliation:
    """Everything one month's reconciliation produced, for the CLI, notebooks and report."""

    period: str
    settings: Settings
    loaded: LoadedPeriod
    clients: pd.DataFrame  # known_clients()
    customers: pd.DataFrame  # map_customers(): one row per vendor customer
    month: MonthTables
    three_way: pd.DataFrame
    findings: pd.DataFrame  # FINDING_COLUMNS
    client_suggestions: pd.DataFrame
    product_suggestions: pd.DataFrame

    def coverage(self) -> pd.DataFrame:
        """Mapping coverage per vendor: customers and rows mapped by each method."""
        d = self.month.delivered
        rows = d.assign(
            mapped_client=d["client_id"].ne(""), mapped_product=d["product_id"].ne("")
        ).groupby("vendor").agg(
            rows=("source", "size"),
            rows_client_mapped=("mapped_client", "sum"),
            rows_product_mapped=("mapped_product", "sum"),
        )
        cust = self.customers.assign(
            method=self.customers["client_method"].replace("", "unmapped")
        ).pivot_table(index="vendor", columns="method", values="cust_key", aggfunc="count",
                      fill_value=0)
        cust.columns = [f"customers_{c}" for c in cust.columns]
        return rows.join(cust).reset_index()


def reconcile(
    loaded: LoadedPeriod,
    client_map: pd.DataFrame,
    product_map: pd.DataFrame,
    settings: Settings,
) -> Reconciliation:
    """Map and match one loaded month (pure: no files touched).

    Returns:
        Reconciliation whose ``findings`` has FINDING_COLUMNS, ordered stably.
    """
    period = loaded.period
    clients = known_clients(loaded.clients, loaded.promised, loaded.billed)
    customers = map_customers(loaded.delivered, clients, client_map)
    month = MonthTables(
        delivered=delivered_month(loaded.delivered, customers, product_map, period, settings),
        promised=promised_month(loaded.promised, period, settings),
        billed=loaded.billed,
    )
    tw = three_way(month, loaded.catalogue, product_map, settings)
    parts = [
        find_discrepancies(tw, settings, has_invoices=not loaded.billed.empty),
        unmapped_findings(month.delivered),
    ]
    findings = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else pd.DataFrame(columns=["kind", *DISCREPANCY_COLUMNS[2:], "cust_key"])
    if "cust_key" not in findings:
        findings["cust_key"] = ""
    findings["cust_key"] = findings["cust_key"].fillna("")
    findings = _finish(findings, clients, month, period)
    unmapped = month.delivered[month.delivered["client_id"].ne("") & month.delivered["product_id"].eq("")]
    products = pd.concat(
        [loaded.catalogue[["product_id", "description"]], loaded.promised[["product_id", "description"]]]
    )
    return Reconciliation(
        period=period,
        settings=settings,
        loaded=loaded,
        clients=clients,
        customers=customers,
        month=month,
        three_way=tw,
        findings=findings,
        client_suggestions=client_suggestions(customers, clients, min_score=settings.fuzzy_min_score),
        product_suggestions=product_suggestions(unmapped, products),
    )


def _finish(
    findings: pd.DataFrame, clients: pd.DataFrame, month: MonthTables, period: str
) -> pd.DataFrame:
    for col in ("client_id", "product_id", "vendor", "vendor_customer", "vendor_sku", "currency"):
        findings[col] = findings[col].fillna("").astype(object)
    findings = order_findings(findings)
    names = clients.set_index("client_id")["client_name"]
    findings["client_name"] = findings["client_id"].map(names).fillna("").astype(object)
    findings["period"] = period
    findings["sources"] = finding_sources(findings, month)
    findings["key"] = (
        findings["kind"] + "|" + findings["client_id"] + "|" + findings["product_id"] + "|"
        + findings["vendor"] + "|" + findings["vendor_customer"] + "|" + findings["vendor_sku"]
        + "|" + findings["currency"]
    )
    findings["detail"] = findings.apply(describe, axis=1) if len(findings) else ""
    return findings[list(FINDING_COLUMNS)]


def _n(value: Decimal | None) -> str:
    return "?" if value is None else f"{value:,f}"


def describe(f: pd.Series) -> str:
    """One plain sentence explaining a finding, for auditors and reviewers."""
    cur = f["currency"]
    texts = {
        "under_billed": f"vendor reports {_n(f.vendor_qty)}, agreement covers {_n(f.agreement_qty)}"
        f" at {_n(f.unit_price)} {cur}",
        "over_billed": f"vendor reports {_n(f.vendor_qty)}, agreement bills {_n(f.agreement_qty)}"
        f" at {_n(f.unit_price)} {cur}",
        "unbilled_service": f"vendor reports {_n(f.vendor_qty)} with no live agreement line",
        "billed_not_delivered": f"agreement bills {_n(f.agreement_qty)}; the vendor reports none",
        "invoice_mismatch": f"agreement {_n(f.agreement_qty)} at {_n(f.unit_price)} {cur}, "
        f"invoiced {_n(f.invoiced_qty)}",
        "price_mismatch": f"agreement price {_n(f.unit_price)} {cur} differs from the invoice",
        "negative_margin": f"price {_n(f.unit_price)} below vendor cost {_n(f.unit_cost)} {cur}",
        "unmapped_customer": f"{f.vendor} customer {f.vendor_customer!s} is not mapped to a client",
        "unmapped_product": f"{f.vendor} SKU {f.vendor_sku!s} is not mapped to a product",
    }
    return texts.get(f["kind"], "")


def reconcile_period(
    workspace: Workspace, period: str, progress: Callable[[str], None] | None = None
) -> Reconciliation:
    """Load, map and match one month of a workspace.

    Raises:
        ReconError: unreadable inputs or mapping files (names file, row and problem).
    """
    loaded = load_period(workspace, period, progress=progress)
    return reconcile(
        loaded,
        read_client_map(workspace.clients_map),
        read_product_map(workspace.products_map),
        workspace.settings(),
    )
