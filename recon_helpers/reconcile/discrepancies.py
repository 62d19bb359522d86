"""The SPEC discrepancy rules: from the three-way table to findings with signed impacts.

Pure functions. :func:`find_discrepancies` turns the client x product table of
:func:`recon_helpers.reconcile.matching.three_way` into the SPEC discrepancy table with signed
impacts (positive = still to bill, negative = to credit back or margin lost), exact to the cent;
:func:`unmapped_findings` reports the vendor lines no client or product mapping reaches.

Rules the SPEC leaves open (also in the README):

* Agreement quantities are the live, billable lines under the month rule (proration.py);
  ``less_included`` units are covered but not invoiced, so invoices compare with
  ``quantity - less_included`` and ``billed_not_delivered`` credits what is invoiced.
* A live line that is not billable (ConnectWise DoNotBill/NoCharge) covers its product: no
  ``unbilled_service`` for it, and no quantity findings.
* Invoice checks run only when the month has invoice lines at all; then an agreement without
  an invoice line is an ``invoice_mismatch`` (leakage) and an invoice line without an agreement
  one that should be credited.
* The vendor unit cost of a product is the vendor's cost per billed unit (after
  ``units_per_product``), in the agreement currency only; else the agreement's unit cost.
* Quantities within the tolerance (absolute, or percent of the agreement quantity, whichever is
  larger; per product when given) are no finding; exactly at the tolerance is no finding.
* Impacts round half up to the cent. Currencies are never mixed: a key is
  (client, product, currency).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from recon_helpers.core.schemas import (
    CENT,
    DISCREPANCY_COLUMNS,
    FINDING_KINDS,
    MONEY_SCALE,
    QTY_SCALE,
    money,
    qty,
)
from recon_helpers.core.workspace import Settings

# the columns found here; reconcile adds the period, the client's name and the sources
RULE_COLUMNS = [c for c in DISCREPANCY_COLUMNS if c not in ("period", "client_name", "sources")]


def _tolerances(product_ids: pd.Series, settings: Settings) -> pd.DataFrame:
    """Per row: absolute quantity tolerance (fixed), percent as a fraction, amount tolerance."""
    rows = {}
    for pid in product_ids.unique():
        tol = settings.tolerance_for(pid)
        num, den = tol.quantity_pct.as_integer_ratio()
        rows[pid] = (
            int(tol.quantity_abs * QTY_SCALE),
            num,
            den,
            int(tol.amount_abs * MONEY_SCALE),
        )
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=["tol_abs", "tol_pct_num", "tol_pct_den", "tol_amount"]
    )
    return table.reindex(product_ids.to_numpy()).set_index(product_ids.index)


def _beyond(diff: np.ndarray, base: np.ndarray, tol: pd.DataFrame) -> np.ndarray:
    """|diff| above both the absolute and the percentage tolerance (exactly at = within)."""
    a = np.abs(diff)
    over_abs = a > tol["tol_abs"].to_numpy()
    pct_num, pct_den = tol["tol_pct_num"].to_numpy(), tol["tol_pct_den"].to_numpy()
    over_pct = a * 100 * pct_den > pct_num * np.abs(base)
    return over_abs & over_pct


def _missing(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _d(series: pd.Series, scale: int) -> pd.Series:
    """Fixed point -> Decimal objects (None when missing)."""
    conv = qty if scale == QTY_SCALE else money
    # quantities and prices repeat: convert each distinct value once (Decimals are immutable)
    codes, uniq = pd.factorize(series.astype(object), use_na_sentinel=False)
    values = np.array([conv(v) for v in uniq] + [None], dtype=object)[:-1]
    return pd.Series(values[codes], index=series.index, dtype=object)


def _mul(a: pd.Series, b: pd.Series) -> pd.Series:
    """Elementwise Decimal product, None when either side is missing."""
    return pd.Series(
        [None if _missing(x) or _missing(y) else x * y for x, y in zip(a, b, strict=True)],
        index=a.index, dtype=object,
    )


def _sub(a: pd.Series, b: pd.Series) -> pd.Series:
    """Elementwise Decimal difference, None when either side is missing."""
    return pd.Series(
        [None if _missing(x) or _missing(y) else x - y for x, y in zip(a, b, strict=True)],
        index=a.index, dtype=object,
    )


def _impact(values: pd.Series) -> pd.Series:
    return pd.Series(
        [None if _missing(v) else v.quantize(CENT, ROUND_HALF_UP) for v in values],
        index=values.index, dtype=object,
    )


def find_discrepancies(tw: pd.DataFrame, settings: Settings, *, has_invoices: bool) -> pd.DataFrame:
    """SPEC discrepancies of the client x product keys of :func:`three_way`.

    Every rule looks at one key's row only, so the rows that provably agree everywhere
    (:func:`_agreeing`) are set aside before the exact Decimal work on the rest.

    Returns:
        DataFrame with kind, client_id, product_id, vendor, vendor_customer, vendor_sku,
        vendor_qty, agreement_qty, invoiced_qty, variance_qty, unit_price, unit_cost, impact,
        currency (Decimals for numbers, None when unknown).
    """
    rest = tw[~_agreeing(tw, has_invoices)]
    if rest.empty:
        return pd.DataFrame(columns=RULE_COLUMNS)
    return _discrepancies(rest, settings, has_invoices=has_invoices)


def _agreeing(tw: pd.DataFrame, has_invoices: bool) -> np.ndarray:
    """Keys no rule can flag whatever the tolerances: an agreement line, delivered = agreed,
    nothing included free, invoiced as agreed at the agreed price, and the price clearly
    above the vendor's unit cost (or, without one, not below the agreement's cost).

    A conservative test in integers: a key it passes gives no finding in
    :func:`_discrepancies`; a key it fails may or may not.
    """
    D = tw["delivered_qty"].to_numpy("int64")
    A = tw["agreement_qty"].to_numpy("int64")
    ok = (tw["agreement_lines"].to_numpy() > 0) & (D == A) & (tw["less_included"].to_numpy() == 0)
    price = tw["unit_price"]
    if has_invoices:
        IQ = tw["invoiced_qty"].to_numpy("int64")
        ie, ia = tw["invoiced_expected"], tw["invoiced_amount"]
        ok &= (IQ == A) & (ie.fillna(0) == ia.fillna(0)).to_numpy(bool)
        exact = [int(p) * int(q) == int(e) * QTY_SCALE if not (_missing(p) or _missing(e)) else True
                 for p, q, e in zip(price.astype(object), IQ, ie.astype(object), strict=True)]
        ok &= (tw["invoiced_lines"].to_numpy() == 0) | (IQ == 0) | np.array(exact, dtype=bool)
    vendor = (tw["vendor_cost_total"].notna().to_numpy() & (D != 0)
              & tw["vendor_cost_currency"].eq(tw["currency"]).to_numpy())
    margin = []
    total = tw["vendor_cost_total"].astype(object)
    for p, t, d, v, c in zip(price.astype(object), total, D, vendor,
                             tw["agreement_cost"].astype(object), strict=True):
        if _missing(p):
            margin.append(True)
        elif v:  # unit cost = t / d rounded to 1e-6: at most ceil(t x 1e4 / d) + 1 micro-units
            margin.append(int(p) > -(-int(t) * QTY_SCALE // int(d)) + 1)
        else:
            margin.append(_missing(c) or int(p) >= int(c))
    return ok & np.array(margin, dtype=bool)


def _discrepancies(tw: pd.DataFrame, settings: Settings, *, has_invoices: bool) -> pd.DataFrame:
    tol = _tolerances(tw["product_id"], settings)
    D = tw["delivered_qty"].to_numpy("int64")
    A = tw["agreement_qty"].to_numpy("int64")
    L = tw["less_included"].to_numpy("int64")
    IQ = tw["invoiced_qty"].to_numpy("int64")
    has_agree = tw["agreement_lines"].to_numpy() > 0
    backed = tw["vendor_backed"].to_numpy()
    price = tw["unit_price"]
    dec = {
        "D": _d(tw["delivered_qty"], QTY_SCALE),
        "A": _d(tw["agreement_qty"], QTY_SCALE),
        "AB": _d(tw["agreement_qty"] - tw["less_included"], QTY_SCALE),
        "IQ": _d(tw["invoiced_qty"], QTY_SCALE),
        "P": _d(price, MONEY_SCALE),
        "IA": _d(tw["invoiced_amount"], MONEY_SCALE),
        "IE": _d(tw["invoiced_expected"], MONEY_SCALE),
    }
    # invoiced unit price: expected amount / quantity (exact Decimal division on few rows)
    inv_price = pd.Series(
        [e / q if q and not _missing(e) else None
         for e, q in zip(dec["IE"], dec["IQ"], strict=True)],
        index=tw.index, dtype=object,
    )
    cost = _vendor_unit_cost(tw, dec["D"])
    found: list[pd.DataFrame] = []

    def emit(kind: str, mask: np.ndarray, variance: pd.Series, impact: pd.Series,
             unit_price: pd.Series | None = None) -> None:
        if not mask.any():
            return
        sel = tw[mask]
        found.append(pd.DataFrame({
            "kind": kind,
            "client_id": sel["client_id"], "product_id": sel["product_id"],
            "vendor": sel["vendor"], "vendor_customer": sel["vendor_customer"],
            "vendor_sku": sel["vendor_sku"],
            "vendor_qty": dec["D"][mask], "agreement_qty": dec["A"][mask],
            "invoiced_qty": dec["IQ"][mask] if has_invoices else None,
            "variance_qty": variance[mask],
            "unit_price": (dec["P"] if unit_price is None else unit_price)[mask],
            "unit_cost": cost[mask],
            "impact": _impact(impact[mask]),
            "currency": sel["currency"],
        }))

    none = pd.Series([None] * len(tw), index=tw.index, dtype=object)
    mul, sub = _mul, _sub

    qty_check = backed & has_agree
    bnd = qty_check & (D == 0) & (A - L != 0)
    emit("billed_not_delivered", bnd, sub(dec["D"], dec["A"]), mul(dec["AB"], dec["P"]).map(
        lambda v: None if _missing(v) else -v))
    diff = D - A
    moved = qty_check & ~bnd & (D != 0) & _beyond(diff, A, tol)
    variance = sub(dec["D"], dec["A"])
    emit("under_billed", moved & (diff > 0), variance, mul(variance, dec["P"]))
    emit("over_billed", moved & (diff < 0), variance, mul(variance, dec["P"]))

    cat_price = _d(tw["catalogue_price"], MONEY_SCALE)
    free = tw["covered_free"].to_numpy()
    unbilled = tw["has_delivery"].to_numpy() & (D != 0) & ~has_agree & ~free
    emit("unbilled_service", unbilled, dec["D"], mul(dec["D"], cat_price), unit_price=cat_price)

    if has_invoices:
        _invoice_findings(tw, dec, inv_price, has_agree, L, IQ, tol, emit, sub, mul)

    margin_qty = dec["AB"]
    neg = has_agree & pd.Series(
        [not _missing(p) and not _missing(c) and p < c
         for p, c in zip(dec["P"], cost, strict=True)],
        index=tw.index,
    ).to_numpy()
    emit("negative_margin", neg, none, mul(sub(dec["P"], cost), margin_qty))
    if not found:
        return pd.DataFrame(columns=RULE_COLUMNS)
    return pd.concat(found, ignore_index=True)


def _invoice_findings(tw, dec, inv_price, has_agree, L, IQ, tol, emit, sub, mul) -> None:  # type: ignore[no-untyped-def]
    """invoice_mismatch and price_mismatch for keys with an agreement or an invoice line."""
    invoiced = tw["invoiced_lines"].to_numpy() > 0
    relevant = has_agree | invoiced
    agreed_bill = np.where(has_agree, tw["agreement_qty"].to_numpy("int64") - L, 0)
    qdiff = agreed_bill - IQ
    gap = tw["invoiced_expected"].fillna(0) - tw["invoiced_amount"].fillna(0)
    amount_gap = gap.to_numpy("int64")
    q_bad = _beyond(qdiff, agreed_bill, tol)
    a_bad = np.abs(amount_gap) > tol["tol_amount"].to_numpy()
    mismatch = relevant & (q_bad | a_bad)
    agreed_dec = pd.Series([qty(int(v)) for v in agreed_bill], index=tw.index, dtype=object)
    qdiff_dec = sub(agreed_dec, dec["IQ"])
    price = pd.Series(
        [p if h else ip for p, ip, h in zip(dec["P"], inv_price, has_agree, strict=True)],
        index=tw.index, dtype=object,
    )
    zero = lambda s: s.map(lambda v: Decimal(0) if _missing(v) else v)  # noqa: E731
    gap_dec = sub(zero(dec["IE"]), zero(dec["IA"]))
    impact = pd.Series(
        [None if _missing(q) or (_missing(p) and q != 0) else (q * (0 if _missing(p) else p) + g)
         for q, p, g in zip(qdiff_dec, price, gap_dec, strict=True)],
        index=tw.index, dtype=object,
    )
    emit("invoice_mismatch", mismatch, qdiff_dec, impact, unit_price=price)
    price_gap = sub(dec["P"], inv_price)
    pm_impact = mul(price_gap, dec["IQ"])
    pm = has_agree & invoiced & (IQ != 0) & pd.Series(
        [not _missing(v) and abs(v) > Decimal(int(t)) / MONEY_SCALE
         for v, t in zip(pm_impact, tol["tol_amount"], strict=True)],
        index=tw.index,
    ).to_numpy()
    emit("price_mismatch", pm, pd.Series([None] * len(tw), index=tw.index, dtype=object), pm_impact)


def _vendor_unit_cost(tw: pd.DataFrame, delivered: pd.Series) -> pd.Series:
    """Vendor cost per billed unit in the key's currency; else the agreement's unit cost."""
    total = _d(tw["vendor_cost_total"], MONEY_SCALE)
    same = tw["vendor_cost_currency"].eq(tw["currency"])
    agreement = _d(tw["agreement_cost"], MONEY_SCALE)
    out = []
    for t, d, ok, a in zip(total, delivered, same, agreement, strict=True):
        if not _missing(t) and d and ok:
            out.append((t / d).quantize(Decimal("0.000001"), ROUND_HALF_UP).normalize())
        else:
            out.append(a)
    return pd.Series(out, index=tw.index, dtype=object)


UNMAPPED_KINDS = ("unmapped_customer", "unmapped_product")
UNMAPPED_KEYS = {
    "unmapped_customer": ["vendor", "cust_key", "currency"],
    "unmapped_product": ["vendor", "vendor_sku", "client_id", "currency"],
}


def unmapped_masks(dm: pd.DataFrame) -> dict[str, pd.Series]:
    """Which vendor lines raise which unmapped finding: no client (unmapped_customer), no
    product (unmapped_product, whether or not the customer is mapped); lines of a vendor
    customer listed in mappings/ignore.csv raise neither."""
    counted = ~dm["client_method"].eq("ignored") if "client_method" in dm else True
    return {"unmapped_customer": dm["client_id"].eq("") & counted,
            "unmapped_product": dm["product_id"].eq("") & counted}


def unmapped_groups(dm: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The month's unmapped vendor lines grouped per finding key (:data:`UNMAPPED_KEYS`).

    Returns:
        kind -> DataFrame sorted by its keys, with vq (sum of wq), cost (sum of known
        line_cost, <NA> when none), vendor_customer (min), vendor_skus (distinct, sorted,
        ';'-joined) and unit_cost (when all lines carry the same one, else <NA>).
    """
    out = {}
    for kind, mask in unmapped_masks(dm).items():
        rows = dm[mask]
        if rows.empty:
            continue
        out[kind] = rows.groupby(UNMAPPED_KEYS[kind], sort=True).agg(
            vq=("wq", "sum"),
            cost=("line_cost", lambda s: s.sum() if s.notna().any() else pd.NA),
            vendor_customer=("vendor_customer", "min"),
            vendor_skus=("vendor_sku", lambda s: ";".join(sorted(set(s)))),
            unit_cost=("unit_cost", _single_value),
        ).reset_index()
    return out


def _single_value(s: pd.Series) -> object:
    """The one value all of ``s`` carries, else <NA> (also when any is missing)."""
    return s.iloc[0] if s.notna().all() and s.nunique() == 1 else pd.NA


def unmapped_findings(dm: pd.DataFrame) -> pd.DataFrame:
    """unmapped_customer per vendor customer and unmapped_product per client x vendor SKU.

    Impact is the vendor cost at risk of the month's lines when known (positive), else None.
    Vendor customers or SKUs whose month quantity is zero are not findings.
    """
    return unmapped_from_groups(unmapped_groups(dm))


def unmapped_from_groups(groups: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`unmapped_findings` from :func:`unmapped_groups` (or the DuckDB engine's)."""
    found = []
    for kind, g in groups.items():
        g = g[g["vq"].ne(0)]
        if g.empty:
            continue
        found.append(pd.DataFrame({
            "kind": kind,
            "client_id": g.get("client_id", ""),
            "product_id": "",
            "vendor": g["vendor"],
            "vendor_customer": g["vendor_customer"],
            "vendor_sku": g["vendor_skus"] if kind == "unmapped_customer" else g["vendor_sku"],
            "vendor_qty": g["vq"].map(qty),
            "agreement_qty": None,
            "invoiced_qty": None,
            "variance_qty": g["vq"].map(qty),
            "unit_price": None,
            "unit_cost": g["unit_cost"].map(money),
            "impact": _impact(g["cost"].map(money)),
            "currency": g["currency"],
            "cust_key": g.get("cust_key", ""),
        }))
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def order_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Stable SPEC order: kind (SPEC order), client, product, vendor keys, currency."""
    rank = {k: i for i, k in enumerate(FINDING_KINDS)}
    keyed = findings.assign(_k=findings["kind"].map(rank))
    keyed = keyed.sort_values(
        ["_k", "client_id", "product_id", "vendor", "vendor_customer", "vendor_sku", "currency"],
        kind="stable",
    )
    return keyed.drop(columns="_k").reset_index(drop=True)
