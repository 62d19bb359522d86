"""Build small workspaces from inline canonical rows, for matching and CLI tests."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.loaders.canonical import (
    BILLED_FIELDS,
    DELIVERED_FIELDS,
    PROMISED_FIELDS,
    spec_header,
)
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

DELIVERED = spec_header(DELIVERED_FIELDS)
PROMISED = spec_header(PROMISED_FIELDS)
BILLED = spec_header(BILLED_FIELDS)


def _write(path: Path, header: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = [k for r in rows for k in r if k not in header]
    fields = list(header) + list(dict.fromkeys(extra))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in fields})


def d(
    customer: str,
    sku: str,
    quantity: str,
    cost: str = "",
    *,
    vendor: str = "huntress",
    name: str | None = None,
    start: str = "",
    end: str = "",
    currency: str = "USD",
) -> dict[str, str]:
    """A delivered row."""
    return {
        "vendor": vendor,
        "vendor_customer_id": customer,
        "vendor_customer_name": customer.title() if name is None else name,
        "vendor_sku": sku,
        "sku_name": sku,
        "quantity": quantity,
        "unit_cost": cost,
        "currency": currency,
        "charge_start": start,
        "charge_end": end,
    }


def p(
    client: str,
    product: str,
    quantity: str,
    price: str,
    *,
    cost: str = "",
    effective: str = "2026-01-01",
    cancelled: str = "",
    currency: str = "USD",
    **extra: str,
) -> dict[str, str]:
    """A promised (agreement) row."""
    row = {
        "client_id": client,
        "client_name": client.title(),
        "agreement_id": f"AG-{client}",
        "product_id": product,
        "description": product,
        "quantity": quantity,
        "unit_price": price,
        "unit_cost": cost,
        "currency": currency,
        "effective_date": effective,
        "cancelled_date": cancelled,
    }
    row.update(extra)
    return row


def b(
    client: str,
    product: str,
    quantity: str,
    price: str,
    amount: str | None = None,
    *,
    currency: str = "USD",
) -> dict[str, str]:
    """A billed (invoice) row; amount defaults to quantity x price."""
    from decimal import Decimal

    amt = amount if amount is not None else str(Decimal(quantity) * Decimal(price))
    return {
        "client_id": client,
        "invoice_number": f"INV-{client}",
        "invoice_date": "2026-10-01",
        "product_id": product,
        "description": product,
        "quantity": quantity,
        "unit_price": price,
        "amount": amt,
        "currency": currency,
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
    }


def build(
    root: Path,
    *,
    delivered: Sequence[dict[str, str]] = (),
    promised: Sequence[dict[str, str]] = (),
    billed: Sequence[dict[str, str]] = (),
    products: Sequence[tuple[str, str, str, str]] = (("huntress", "agents", "EDR", "1"),),
    clients_map: Sequence[tuple[str, str, str, str]] = (),
    catalogue: Sequence[tuple[str, str, str]] = (),
    toml: str = "",
    period: str = "2026-10",
) -> Workspace:
    """A workspace with canonical input files for one month and the given mappings."""
    folder = root / "inputs" / str(period)
    folder.mkdir(parents=True, exist_ok=True)
    if delivered:
        _write(folder / "usage.csv", DELIVERED, delivered)
    if promised:
        _write(folder / "agreements.csv", PROMISED, promised)
    if billed:
        _write(folder / "invoices.csv", BILLED, billed)
    if catalogue:
        _write(
            folder / "catalogue.csv",
            ["product_id", "description", "unit_price", "currency"],
            [
                dict(zip(["product_id", "unit_price", "currency"], c, strict=True))
                for c in catalogue
            ],
        )
    maps = root / "mappings"
    maps.mkdir(exist_ok=True)
    with (maps / "products.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["vendor", "vendor_sku", "product_id", "units_per_product"])
        w.writerows(products)
    with (maps / "clients.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["vendor", "vendor_customer_id", "vendor_customer_name", "client_id"])
        w.writerows(clients_map)
    if toml:
        (root / "recon.toml").write_text(toml)
    return Workspace.open(root)


def run(root: Path, **kwargs: object) -> Reconciliation:
    """build() then reconcile the month."""
    period = str(kwargs.get("period", "2026-10"))
    ws = build(root, **kwargs)  # type: ignore[arg-type]
    return reconcile_period(ws, Period.parse(period))


def kinds(rec: Reconciliation) -> list[tuple[str, str, str, str]]:
    """(kind, client_id, product_id, impact) of every finding."""
    f = rec.findings
    return [
        (k, c, pid, "" if i is None else format(i, "f"))
        for k, c, pid, i in zip(f.kind, f.client_id, f.product_id, f.impact, strict=True)
    ]


def one_client_workspace(tmp_path: Path) -> Workspace:
    """A one-client canonical workspace (one finding); reports go to tmp_path/reports."""
    build(tmp_path / "data",
          delivered=[d("acme", "agents", "12", "2.00")],
          promised=[p("ACME", "EDR", "10", "5.00", client_name="Acme")],
          billed=[b("ACME", "EDR", "10", "5.00")],
          clients_map=[("huntress", "acme", "", "ACME")])
    return Workspace.open(tmp_path / "data", tmp_path / "reports")
