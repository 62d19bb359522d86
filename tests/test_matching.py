"""Each discrepancy kind on small inline tables, with the edge cases of the SPEC."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recon_helpers.reconcile.summary import impact_by_kind
from tests.workspace_builder import b, d, kinds, p, run


def test_consistent_book_has_no_findings(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "10", "3")],
        promised=[p("acme", "EDR", "10", "5.00")],
        billed=[b("acme", "EDR", "10", "5.00")],
    )
    assert kinds(rec) == []


def test_under_and_over_billed_impacts(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "12", "3"), d("beta", "agents", "7", "3")],
        promised=[p("acme", "EDR", "10", "5.00"), p("beta", "EDR", "9", "4.50")],
    )
    assert kinds(rec) == [
        ("under_billed", "acme", "EDR", "10.00"),
        ("over_billed", "beta", "EDR", "-9.00"),
    ]
    row = rec.findings.iloc[0]
    assert (row.vendor_qty, row.agreement_qty, row.variance_qty) == (12, 10, 2)
    assert row.vendor == "huntress" and row.vendor_customer == "acme" and row.vendor_sku == "agents"
    assert row.sources == "agreements.csv:1;usage.csv:1"


def test_unbilled_service_valued_at_catalogue_price_else_empty(tmp_path):
    rows = {
        "delivered": [d("acme", "agents", "4", "3"), d("beta", "agents", "1")],
        "promised": [p("acme", "FLAT", "1", "90")],
    }
    found = kinds(run(tmp_path / "a", **rows))
    # no catalogue: impact empty, never a guessed price; beta is no client: unmapped
    assert found == [("unbilled_service", "acme", "EDR", ""), ("unmapped_customer", "", "", "")]
    found = kinds(run(tmp_path / "b", catalogue=[("EDR", "6.50", "USD")], **rows))
    assert found[0] == ("unbilled_service", "acme", "EDR", "26.00")


def test_billed_not_delivered_when_vendor_reports_nothing(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "3")],
        promised=[p("acme", "EDR", "3", "5"), p("beta", "EDR", "6", "2.50")],
    )
    assert kinds(rec) == [("billed_not_delivered", "beta", "EDR", "-15.00")]


def test_exactly_at_tolerance_is_no_finding_just_above_is(tmp_path):
    toml = '[tolerance]\nquantity_abs = "2"\n'
    rec = run(
        tmp_path / "a",
        delivered=[d("acme", "agents", "12")],
        promised=[p("acme", "EDR", "10", "5")],
        toml=toml,
    )
    assert kinds(rec) == []
    rec = run(
        tmp_path / "b",
        delivered=[d("acme", "agents", "12.0001")],
        promised=[p("acme", "EDR", "10", "5")],
        toml=toml,
    )
    assert kinds(rec) == [("under_billed", "acme", "EDR", "10.00")]


def test_percentage_and_per_product_tolerance(tmp_path):
    toml = (
        '[tolerance]\nquantity_pct = "10"\n'
        '[tolerance.products."EDR"]\nquantity_abs = "0"\nquantity_pct = "0"\n'
    )
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "11"), d("acme", "gb", "1100")],
        promised=[p("acme", "EDR", "10", "5"), p("acme", "BKP", "1000", "0.01")],
        products=(("huntress", "agents", "EDR", "1"), ("huntress", "gb", "BKP", "1")),
        toml=toml,
    )
    # BKP is 10 % over: within the default; EDR has its own exact tolerance
    assert kinds(rec) == [("under_billed", "acme", "EDR", "5.00")]


def test_zero_quantities_give_nothing(tmp_path):
    rec = run(tmp_path, delivered=[d("acme", "agents", "0")], promised=[p("acme", "EDR", "0", "5")])
    assert kinds(rec) == []


def test_cancelled_line_before_the_month_is_not_promised(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "5")],
        promised=[p("acme", "EDR", "5", "5", cancelled="2026-09-30")],
    )
    assert kinds(rec) == [("unbilled_service", "acme", "EDR", "")]


def test_cancelled_mid_month_counts_zero_at_month_end(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "5", end="2026-10-15")],
        promised=[p("acme", "EDR", "5", "5", cancelled="2026-10-15")],
    )
    assert kinds(rec) == []  # both sides stand at 0 on 31 October


def test_reversal_pair_nets_to_new_quantity(tmp_path):
    rows = [
        d("acme", "agents", "10", "3", start="2026-10-01", end="2026-10-31"),
        d("acme", "agents", "-10", "3", start="2026-10-14", end="2026-10-31"),
        d("acme", "agents", "12", "3", start="2026-10-14", end="2026-10-31"),
    ]
    rec = run(tmp_path, delivered=rows, promised=[p("acme", "EDR", "12", "5")])
    assert kinds(rec) == []
    assert rec.three_way.loc[0, "delivered_qty"] == 12 * 10_000


def test_day_weighted_rule_prorates_both_sides(tmp_path):
    toml = 'month_rule = "day_weighted"\n'
    # 31 seats for 10 of 31 days = 10 seat-months; agreement starts on the 22nd: 10 days too
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "31", start="2026-10-22")],
        promised=[p("acme", "EDR", "31", "1", effective="2026-10-22")],
        toml=toml,
    )
    assert kinds(rec) == []
    assert rec.three_way.loc[0, "delivered_qty"] == 10 * 10_000
    assert rec.three_way.loc[0, "agreement_qty"] == 10 * 10_000


def test_bundle_of_skus_and_unit_conversion(tmp_path):
    products = (
        ("huntress", "agents", "EDR", "1"),
        ("huntress", "agents-server", "EDR", "1"),
        ("acronis", "storage", "BKP-TB", "1024"),
    )
    rec = run(
        tmp_path,
        delivered=[
            d("acme", "agents", "8"),
            d("acme", "agents-server", "2"),
            d("acme", "storage", "2560", vendor="acronis"),
        ],
        promised=[p("acme", "EDR", "10", "5"), p("acme", "BKP-TB", "2", "40")],
        products=products,
    )
    assert kinds(rec) == [("under_billed", "acme", "BKP-TB", "20.00")]  # 2.5 TB vs 2 TB
    tw = rec.three_way.set_index("product_id")
    assert tw.loc["EDR", "vendor_sku"] == "agents;agents-server"


def test_two_currencies_are_never_summed(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "12", currency="EUR"), d("beta", "agents", "11")],
        promised=[p("acme", "EDR", "10", "5", currency="EUR"), p("beta", "EDR", "10", "7")],
    )
    assert {(k, i) for k, _, _, i in kinds(rec)} == {
        ("under_billed", "10.00"),
        ("under_billed", "7.00"),
    }
    summary = impact_by_kind(rec.findings)
    assert sorted(zip(summary.currency, summary.impact, strict=True)) == [
        ("EUR", Decimal("10.00")),
        ("USD", Decimal("7.00")),
    ]


def test_invoice_mismatch_quantity_and_amount(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "10"), d("beta", "agents", "5")],
        promised=[p("acme", "EDR", "10", "5"), p("beta", "EDR", "5", "2")],
        billed=[b("acme", "EDR", "8", "5"), b("beta", "EDR", "5", "2", amount="10.50")],
    )
    assert kinds(rec) == [
        ("invoice_mismatch", "acme", "EDR", "10.00"),
        ("invoice_mismatch", "beta", "EDR", "-0.50"),
    ]


def test_invoice_without_agreement_and_agreement_without_invoice(tmp_path):
    rec = run(
        tmp_path,
        promised=[p("acme", "FLAT", "1", "100")],
        billed=[b("beta", "FLAT", "1", "100")],
        products=(),
    )
    assert kinds(rec) == [
        ("invoice_mismatch", "acme", "FLAT", "100.00"),
        ("invoice_mismatch", "beta", "FLAT", "-100.00"),
    ]


def test_no_invoices_in_the_month_means_no_invoice_checks(tmp_path):
    rec = run(tmp_path, promised=[p("acme", "FLAT", "1", "100")], products=())
    assert kinds(rec) == []


def test_price_mismatch_and_negative_margin(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "10", "6.00"), d("beta", "agents", "4", "3")],
        promised=[p("acme", "EDR", "10", "5.00"), p("beta", "EDR", "4", "5.00")],
        billed=[b("acme", "EDR", "10", "5.00"), b("beta", "EDR", "4", "4.50")],
    )
    assert kinds(rec) == [
        ("price_mismatch", "beta", "EDR", "2.00"),
        ("negative_margin", "acme", "EDR", "-10.00"),
    ]


def test_non_billable_line_covers_its_product(tmp_path):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "3")],
        promised=[p("acme", "EDR", "3", "0", billable="false")],
    )
    assert kinds(rec) == []


def test_unmapped_customer_and_product_carry_cost_at_risk(tmp_path):
    rec = run(
        tmp_path,
        delivered=[
            d("zeta", "agents", "4", "2.50", name="Zeta Holdings"),
            d("acme", "siem", "2", "7"),
        ],
        promised=[p("acme", "EDR", "1", "5")],
    )
    found = kinds(rec)
    assert ("unmapped_customer", "", "", "10.00") in found
    assert ("unmapped_product", "acme", "", "14.00") in found


def test_mapping_file_id_wins_and_name_variants_auto_map(tmp_path):
    rec = run(
        tmp_path,
        delivered=[
            d("t-1", "agents", "3", name="Totally Different"),
            d("x9", "agents", "2", name="ACME, Inc."),
        ],
        promised=[p("acme", "EDR", "2", "5"), p("beta", "EDR", "3", "5")],
        clients_map=(("HUNTRESS", "T-1", "", "beta"),),
    )
    assert kinds(rec) == []
    methods = dict(zip(rec.customers.vendor_customer_id, rec.customers.client_method, strict=True))
    assert methods == {"t-1": "mapping_id", "x9": "auto_name"}


@pytest.mark.parametrize("kind_order", [True])
def test_findings_are_sorted_in_spec_kind_order(tmp_path, kind_order):
    rec = run(
        tmp_path,
        delivered=[d("acme", "agents", "12"), d("zeta", "agents", "1", "1", name="Zeta")],
        promised=[p("acme", "EDR", "10", "5"), p("beta", "EDR", "2", "5")],
    )
    assert list(rec.findings.kind) == ["under_billed", "billed_not_delivered", "unmapped_customer"]
