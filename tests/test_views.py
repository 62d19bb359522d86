"""Display frames of the notebooks (package-built, exact values)."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE
from recon_helpers.present.views import three_way_frame


def test_three_way_rows_carry_the_kinds_found_on_their_key() -> None:
    tw = pd.DataFrame({
        "client_id": ["0042", "0042", "B&Q"], "product_id": ["EDR", "M365", "EDR"],
        "currency": ["USD", "USD", "EUR"], "vendor": ["s1", "microsoft", "s1"],
        "vendor_sku": ["ctl", "CFQ7TTC0LCHC:0002", "ctl"],
        "delivered_qty": [12 * QTY_SCALE, 5 * QTY_SCALE, 34_000],
        "agreement_qty": [10 * QTY_SCALE, 5 * QTY_SCALE, 3 * QTY_SCALE],
        "less_included": [0, 0, 0], "invoiced_qty": [10 * QTY_SCALE, 5 * QTY_SCALE, 0],
        "unit_price": pd.array([6 * MONEY_SCALE, 22 * MONEY_SCALE, None], dtype="Int64"),
        "invoiced_amount": pd.array([60 * MONEY_SCALE, 110 * MONEY_SCALE, None], dtype="Int64"),
    })
    findings = pd.DataFrame({
        "client_id": ["0042", "0042", "B&Q"], "product_id": ["EDR", "EDR", "EDR"],
        "currency": ["USD", "USD", "USD"],  # B&Q's finding is in another currency
        "kind": ["under_billed", "price_mismatch", "over_billed"],
    })
    out = three_way_frame(tw, findings)
    assert list(out["findings"]) == ["under_billed, price_mismatch", "", ""]
    assert out["client_id"].tolist() == ["0042", "0042", "B&Q"]  # ids stay text
    assert out.loc[2, "delivered"] == Decimal("3.4") and pd.isna(out.loc[2, "unit_price"])


def test_blockers_lead_with_the_missing_source_and_the_unmapped_customers(demo_ws) -> None:
    from recon_helpers.core.period import Period
    from recon_helpers.present.views import blockers
    from recon_helpers.reconcile.run import reconcile_period

    october = Period.parse("2026-10")
    for f in (demo_ws.root / "inputs" / "2026-10").glob("huntress*"):
        f.unlink()
    rec = reconcile_period(demo_ws, october)
    b = rec.blockers()
    assert b.missing == ("missing: huntress organizations, present in 2026-08 and 2026-09",)
    assert b.unmapped_customers == 1 and b.unmapped_skus == 1 and not b.clear
    held = dict(b.held)
    assert held["source_missing"] == int(rec.findings["hold"].eq("source_missing").sum()) > 0
    markup = blockers(rec).to_html()
    assert markup.index("missing: huntress") < markup.index("unmapped customers: 1 (")
    assert f"recon map --period {october}" in markup


def test_blockers_say_when_the_month_is_clear(rec) -> None:
    from recon_helpers.present.views import blockers

    clear = rec.blockers().__class__((), 0, 0, 0, (), rec.blockers().ignored)
    assert clear.clear and clear.lines(rec.period) == []
    assert "unmapped customers: 1" in blockers(rec).to_html()  # the demo month is not clear
