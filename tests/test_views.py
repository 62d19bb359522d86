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
