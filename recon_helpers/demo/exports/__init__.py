"""Write a demo month (built by :mod:`recon_helpers.demo.plan`) in the real export formats, with the
mess real exports have, plus the workspace's mappings and ``recon.toml``.

One module per family: :mod:`.microsoft` (Partner Center NCE CSV), :mod:`.pax8` (invoice
items JSON), :mod:`.usage` (Datto RMM, SentinelOne, Huntress, Acronis snapshots) and one per
PSA: :mod:`.connectwise` (companies, agreements, additions, catalog, invoices),
:mod:`.autotask` (Companies, Services, Contracts, ContractServices, ContractServiceUnits,
Invoices, BillingItems) and :mod:`.halopsa` (Client, Item, RecurringInvoice, Invoice). Field
names follow the vendors' published shapes (FORMATS.md in the project's shared folder).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

from recon_helpers.demo.exports import autotask, halopsa
from recon_helpers.demo.exports.connectwise import (
    CW,
    USD,
    cw_additions,
    cw_agreements,
    cw_catalog,
    cw_companies,
    cw_invoices,
)
from recon_helpers.demo.exports.microsoft import (
    LIST_PRICE,
    MS_HEADER,
    PARTNER_ID,
    PEC_NOTE,
    microsoft_csv,
)
from recon_helpers.demo.exports.pax8 import pax8_json
from recon_helpers.demo.exports.usage import (
    acronis_json,
    datto_json,
    huntress_json,
    sentinelone_json,
)
from recon_helpers.demo.licences import RENEWAL_PRICE
from recon_helpers.demo.plan import NAME_VARIANTS, PRODUCTS, Client, Month, Product
from recon_helpers.demo.psas import PRODUCTS_ORDER, psa_product_id

__all__ = [
    "CW",
    "LIST_PRICE",
    "MS_HEADER",
    "PARTNER_ID",
    "PEC_NOTE",
    "PRODUCTS_ORDER",
    "USD",
    "acronis_json",
    "cw_additions",
    "cw_agreements",
    "cw_catalog",
    "cw_companies",
    "cw_invoices",
    "datto_json",
    "dump_json",
    "huntress_json",
    "microsoft_csv",
    "pax8_json",
    "sentinelone_json",
    "write_config",
    "write_licence_mappings",
    "write_mappings",
    "write_month",
]


def _dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


dump_json = _dump


def write_licence_mappings(folder: Path, terms: list[tuple[str, str, str]], psa: str) -> None:
    """agreement_terms.csv (the commitment each agreement allows) and the renewal price list
    of the licence rules (reconcile/licences.py)."""
    with (folder / "agreement_terms.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(("client_id", "product_id", "term"))
        out.writerows((c, psa_product_id(psa, p), t) for c, p, t in terms)
    with (folder / "microsoft_renewal_prices.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(("vendor_sku", "term", "unit_cost", "currency"))
        out.writerow((PRODUCTS["M365-BP"].vendor_sku, "P1Y", str(RENEWAL_PRICE), "USD"))


def write_month(
    folder: Path,
    m: Month,
    clients: list[Client],
    products: dict[str, Product],
    psa: str = "connectwise",
) -> None:
    """Every export of one month into ``folder``: the vendors' files and ``psa``'s."""
    rng = random.Random(m.period)
    stamp = m.period.replace("-", "")
    (folder / f"G0{stamp}77_NCE_recon.csv").write_text(microsoft_csv(m, rng), encoding="utf-8-sig")
    (folder / "pax8-invoice-items.json").write_text(pax8_json(m, clients, rng), encoding="utf-8")
    (folder / "datto-rmm-sites.json").write_text(datto_json(m), encoding="utf-8")
    (folder / "sentinelone-sites.json").write_text(sentinelone_json(m), encoding="utf-8")
    (folder / "huntress-organizations.json").write_text(huntress_json(m), encoding="utf-8")
    (folder / "acronis-usages.json").write_text(acronis_json(m, rng), encoding="utf-8")
    if psa == "autotask":
        _write_autotask(folder, m, clients, products)
    elif psa == "halopsa":
        _write_halopsa(folder, m, clients, products)
    else:
        _write_connectwise(folder, m, clients, products)


def _write_connectwise(
    folder: Path, m: Month, clients: list[Client], products: dict[str, Product]
) -> None:
    _dump(folder / "cw-companies.json", cw_companies(clients))
    _dump(folder / "cw-agreements.json", cw_agreements(clients))
    _dump(folder / "cw-agreement-additions.json", cw_additions(m))
    _dump(folder / "cw-catalog.json", cw_catalog(products))
    headers, lines = cw_invoices(m, clients)
    _dump(folder / "cw-invoices.json", headers)
    _dump(folder / "cw-invoice-products.json", lines)


def _write_autotask(
    folder: Path, m: Month, clients: list[Client], products: dict[str, Product]
) -> None:
    _dump(folder / "at-companies.json", autotask.at_companies(clients))
    _dump(folder / "at-services.json", autotask.at_services(products))
    _dump(folder / "at-contracts.json", autotask.at_contracts(clients))
    _dump(folder / "at-contract-services.json", autotask.at_contract_services(m))
    _dump(folder / "at-contract-service-units.json", autotask.at_units(m))
    invoices, items = autotask.at_invoices(m, clients)
    _dump(folder / "at-invoices.json", invoices)
    _dump(folder / "at-billing-items.json", items)


def _write_halopsa(
    folder: Path, m: Month, clients: list[Client], products: dict[str, Product]
) -> None:
    _dump(folder / "halo-clients.json", halopsa.halo_clients(clients))
    _dump(folder / "halo-items.json", halopsa.halo_items(products))
    _dump(folder / "halo-recurring-invoices.json", halopsa.halo_recurring(m, clients))
    _dump(folder / "halo-invoices.json", halopsa.halo_invoices(m, clients))


def write_mappings(folder: Path, clients: list[Client], products: dict[str, Product]) -> None:
    """clients.csv (names no rule can match, Acronis tenants by id) and products.csv."""

    folder.mkdir(parents=True, exist_ok=True)
    rows = [("vendor", "vendor_customer_id", "vendor_customer_name", "client_id")]
    for c in clients:
        if c.index in NAME_VARIANTS["datto_rmm"]:
            rows.append(("datto_rmm", c.ids["datto_rmm"], c.name_at("datto_rmm"), c.identifier))
        rows.append(("acronis", c.ids["acronis"], "", c.identifier))
    with (folder / "clients.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    prows = [("vendor", "vendor_sku", "product_id", "units_per_product")]
    for p in products.values():
        if p.vendor:
            prows.append((p.vendor, p.vendor_sku, p.product_id, str(p.units_per_product)))
    with (folder / "products.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(prows)


def write_config(path: Path, psa: str = "connectwise") -> None:
    """recon.toml of the demo: month-end rule, exact quantities, storage within 0.05 TB
    (and for Autotask the tenant's time zone)."""
    zone = f'\n[autotask]\ntimezone = "{autotask.TIMEZONE}"\n' if psa == "autotask" else ""
    storage = psa_product_id(psa, "BKP-TB")
    named = "" if storage == "BKP-TB" else "   # BKP-TB, Cloud backup storage per TB"
    path.write_text(
        '# Settings of this workspace (see README "Configuration").\n'
        'currency = "USD"\n'
        'month_rule = "month_end"   # or "day_weighted" (planted findings then:\n'
        "                           # demo_ground_truth.day_weighted.csv)\n\n"
        "[tolerance]\n"
        'quantity_abs = "0"\n'
        'quantity_pct = "0"\n'
        'amount_abs = "0.01"\n\n'
        "# storage is measured in bytes and billed in TB: ignore differences up to 0.05 TB\n"
        f'[tolerance.products."{storage}"]{named}\n'
        'quantity_abs = "0.05"\n' + zone,
        encoding="utf-8",
    )
