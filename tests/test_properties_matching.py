"""Hypothesis properties of reconciling: determinism, order independence, conservation."""

from __future__ import annotations

import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workspace_builder import b, d, p, run

CLIENTS = ["acme", "beta", "gamma", "delta"]
PRODUCTS = (
    ("huntress", "agents", "EDR", "1"),
    ("huntress", "siem", "SIEM", "1"),
    ("acronis", "gb", "BKP", "1024"),
)

quantity = st.integers(min_value=0, max_value=60)
price = st.decimals(min_value=Decimal("0.50"), max_value=Decimal("99"), places=2)

line = st.fixed_dictionaries(
    {
        "client": st.sampled_from([*CLIENTS, "zeta"]),  # zeta is no client: unmapped
        "sku": st.sampled_from(["agents", "siem", "gb", "unknown"]),
        "delivered": quantity,
        "agreed": st.one_of(st.none(), quantity),
        "invoiced": st.one_of(st.none(), quantity),
        "price": price,
        "cost": st.one_of(st.none(), price),
        "ends_mid_month": st.booleans(),
    }
)
PRODUCT_OF = {"agents": "EDR", "siem": "SIEM", "gb": "BKP", "unknown": "UNKNOWN"}
SLOW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _book(lines: list[dict]) -> dict[str, list[dict[str, str]]]:
    delivered, promised, billed = [], [], []
    for ln in lines:
        vendor = "acronis" if ln["sku"] == "gb" else "huntress"
        delivered.append(
            d(
                ln["client"],
                ln["sku"],
                str(ln["delivered"]),
                "" if ln["cost"] is None else str(ln["cost"]),
                vendor=vendor,
                end="2026-10-20" if ln["ends_mid_month"] else "",
            )
        )
        if ln["client"] != "zeta" and ln["agreed"] is not None:
            promised.append(
                p(ln["client"], PRODUCT_OF[ln["sku"]], str(ln["agreed"]), str(ln["price"]))
            )
        if ln["client"] != "zeta" and ln["invoiced"] is not None:
            billed.append(
                b(ln["client"], PRODUCT_OF[ln["sku"]], str(ln["invoiced"]), str(ln["price"]))
            )
    # every client exists in the PSA, so customers map by name
    promised.extend(p(c, "FLAT", "1", "10") for c in CLIENTS)
    if billed:
        billed.extend(b(c, "FLAT", "1", "10") for c in CLIENTS)
    return {"delivered": delivered, "promised": promised, "billed": billed}


def _comparable(rec) -> list[tuple]:
    cols = [c for c in rec.findings.columns if c not in ("sources",)]
    return sorted(tuple(str(v) for v in row) for row in rec.findings[cols].itertuples(index=False))


@SLOW
@given(st.lists(line, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_reconciling_is_deterministic_and_independent_of_row_order(lines, rnd):
    book = _book(lines)
    with tempfile.TemporaryDirectory() as tmp:
        first = run(Path(tmp) / "a", products=PRODUCTS, **book)
        again = run(Path(tmp) / "b", products=PRODUCTS, **book)
        shuffled = {k: rnd.sample(v, len(v)) for k, v in book.items()}
        other = run(Path(tmp) / "c", products=PRODUCTS, **shuffled)
    assert first.findings.equals(again.findings)
    assert _comparable(first) == _comparable(other)


@SLOW
@given(st.lists(line, min_size=1, max_size=12))
def test_quantities_are_conserved_between_inputs_and_the_matched_table(lines):
    book = _book(lines)
    with tempfile.TemporaryDirectory() as tmp:
        rec = run(Path(tmp), products=PRODUCTS, **book)
    month = rec.month.delivered
    # every vendor row read is used once or quarantined (exact repeats are)
    quarantined = int((rec.loaded.quarantine["file"] == "usage.csv").sum())
    assert len(month) + quarantined == len(book["delivered"])
    mapped = month[month.client_id.ne("") & month.product_id.ne("")]
    converted = mapped.groupby(["client_id", "product_id", "units_per_product"])["wq"].sum()
    # fixed-point units, converted to billed units per client x product
    expected = sum(
        (Decimal(int(v)) / Decimal(upp)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        for (_, _, upp), v in converted.items()
    )
    assert int(rec.three_way["delivered_qty"].sum()) == expected
    # a row of an unmapped customer is in its unmapped_customer finding; a row of an unmapped
    # SKU in its unmapped_product finding (whether or not its customer is mapped)
    f = rec.findings
    for kind, column in (("unmapped_customer", "client_id"), ("unmapped_product", "product_id")):
        reported = sum(f.loc[f.kind.eq(kind), "vendor_qty"], Decimal(0))
        assert reported * 10_000 == int(month.loc[month[column].eq(""), "wq"].sum()), kind


@SLOW
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CLIENTS), st.sampled_from(["agents", "siem"]), st.integers(1, 80), price
        ),
        min_size=1,
        max_size=10,
        unique_by=lambda t: t[:2],
    )
)
def test_a_book_with_no_differences_yields_no_findings(rows):
    delivered = [
        d(c, sku, str(q), str(pr - Decimal("0.10") if pr > 1 else "")) for c, sku, q, pr in rows
    ]
    promised = [p(c, PRODUCT_OF[sku], str(q), str(pr)) for c, sku, q, pr in rows]
    billed = [b(c, PRODUCT_OF[sku], str(q), str(pr)) for c, sku, q, pr in rows]
    with tempfile.TemporaryDirectory() as tmp:
        rec = run(
            Path(tmp), delivered=delivered, promised=promised, billed=billed, products=PRODUCTS
        )
    assert rec.findings.empty, rec.findings[["kind", "client_id", "product_id", "impact"]]
