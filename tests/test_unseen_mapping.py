"""Issue 12: mapping files that contradict themselves, unmapped customers explained, recon map,
ignore.csv and unmapped SKUs, on an unseen month through the CLI."""

from __future__ import annotations

import csv
import re

from tests.unseen import variants
from tests.unseen.expected import evaluate
from tests.unseen.plan import customer_id
from tests.unseen.roster import MS_SKUS
from tests.unseen.run import (
    Result,
    assert_findings,
    assert_refused,
    recon,
    reconcile,
    require,
)
from tests.unseen.workspace import PERIOD, base_month, write_workspace


def names_rows(result: Result, rows: list[int]) -> bool:
    """The message names every row, as 1-based data rows or as file line numbers."""
    def named(numbers: list[int]) -> bool:
        return all(re.search(rf"(?<![\d.:-]){n}(?!\d)", result.text) for n in numbers)

    return named(rows) or named([r + 1 for r in rows])


def suggests(text: str, tenant: str) -> bool:
    """``text`` suggests client Pinecrest with a score (a whole number up to 100 near it),
    besides naming the tenant (whose own name and GUID are set aside first)."""
    rest = text.replace(variants.FUZZY_NAME, " ").replace(tenant, " ")
    scores = re.findall(r"Pinecrest.{0,60}?(?<![\w.-])(?<!\d,)(\d{1,3})(?!\w|[.,]\d|-)", rest)
    return any(0 < int(s) <= 100 for s in scores)


def _month_with(**maps):  # type: ignore[no-untyped-def]
    base = base_month()
    return base.with_(client_map=base.client_map + tuple(maps.get("clients", ())),
                      product_map=base.product_map + tuple(maps.get("products", ())))


def test_clients_csv_mapping_one_customer_to_two_clients_is_an_error(tmp_path):
    base = base_month()
    site = customer_id("datto_rmm", "Foxglove")  # row 1 maps it to Foxglove
    month = _month_with(clients=[("datto_rmm", site, "Foxglove - Main Office", "Granger")])
    result = reconcile(write_workspace(tmp_path / "data", month))
    assert_refused(result, "clients.csv", "Foxglove", "Granger")
    assert names_rows(result, [1, len(base.client_map) + 1]), result.text[-1500:]


def test_products_csv_mapping_one_sku_to_two_products_is_an_error(tmp_path):
    base = base_month()
    sku = MS_SKUS["M365-BP"].key  # row 1 maps it to M365-BP
    month = _month_with(products=[("microsoft", sku, "M365-BS")])
    result = reconcile(write_workspace(tmp_path / "data", month))
    assert_refused(result, "products.csv", "M365-BP", "M365-BS")
    assert names_rows(result, [1, len(base.product_map) + 1]), result.text[-1500:]


def test_clients_csv_naming_an_unknown_client_is_an_error(tmp_path):
    base = base_month()
    org = next(c for c in base.customers if c.name == "Contoso North")
    month = _month_with(clients=[("huntress", org.customer_id, org.name, "ContosoNorth")])
    result = reconcile(write_workspace(tmp_path / "data", month))
    assert_refused(result, "clients.csv", "ContosoNorth")
    assert names_rows(result, [len(base.client_map) + 1]), result.text[-1500:]


def test_products_csv_naming_an_unknown_product_is_an_error(tmp_path):
    base = base_month()
    month = _month_with(products=[("microsoft", MS_SKUS["TEAMS-PHONE"].key, "TEAMS-PHONE")])
    result = reconcile(write_workspace(tmp_path / "data", month))
    assert_refused(result, "products.csv", "TEAMS-PHONE")
    assert names_rows(result, [len(base.product_map) + 1]), result.text[-1500:]


def test_unmapped_customer_explains_missing_deliveries(tmp_path):
    month, expected = variants.fuzzy_unmapped()
    result = reconcile(write_workspace(tmp_path / "data", month))
    assert_findings(result, expected)
    tenant = customer_id("microsoft", "Pinecrest")
    (row,) = [r for r in result.findings if r["kind"] == "unmapped_customer"
              and r["vendor_customer"] == tenant]
    detail = row["detail"]
    assert variants.FUZZY_NAME in detail and tenant in detail, detail
    assert suggests(detail, tenant), f"no suggestion with its score: {detail}"
    held = [r for r in result.findings if r["status"] == "held"]
    assert held and all(variants.FUZZY_NAME in r["detail"] or tenant in r["detail"]
                        for r in held), [r["detail"] for r in held]


def test_recon_map_lists_and_accepts_the_suggestion(tmp_path):
    month, _ = variants.fuzzy_unmapped()
    book = write_workspace(tmp_path / "data", month)
    tenant = customer_id("microsoft", "Pinecrest")
    common = ("--workspace", book.root, "--reports", book.reports, "--period", PERIOD)
    listed = recon("map", *common)
    assert listed.code in (0, 1), listed.text[-1500:]
    line = next((ln for ln in listed.out.splitlines()
                 if tenant in ln or variants.FUZZY_NAME in ln), "")
    assert suggests(line, tenant), listed.out[-2000:]
    accepted = recon("map", *common, "--accept", f"microsoft:{tenant}=Pinecrest")
    assert accepted.code == 0, accepted.text[-1500:]
    with (book.root / "mappings" / "clients.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {"vendor": "microsoft", "vendor_customer_id": tenant, "client_id": "Pinecrest"}.items() \
        <= next((r for r in rows if r["vendor_customer_id"] == tenant), {}).items()
    assert_findings(reconcile(book), evaluate(variants.accepted(month)))


def test_ignored_vendor_customer_raises_no_finding(tmp_path):
    month, expected = variants.ignored()
    book = write_workspace(tmp_path / "data", month)
    require((book.root / "mappings" / "ignore.csv").exists(), "ignore.csv is written")
    assert_findings(reconcile(book), expected)


def test_unmapped_sku_on_unmapped_tenant_is_reported(tmp_path):
    month, expected = variants.unmapped_sku_on_unmapped_tenant()
    result = reconcile(write_workspace(tmp_path / "data", month))
    kinds = sorted(f.kind for f in expected if f.vendor == "microsoft" and not f.client_id)
    require(kinds == ["unmapped_customer", "unmapped_product"], "both findings are planned")
    assert_findings(result, expected)
