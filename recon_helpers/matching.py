"""Three-way match of one month: delivered (vendors) vs promised (agreements) vs billed (invoices).

Pure functions over the canonical tables. :func:`three_way` builds one row per client x product
with the month's quantities, prices and costs in fixed point; :func:`find_discrepancies` turns it
into the SPEC discrepancy table with signed impacts (positive = still to bill, negative = to
credit back or margin lost), exact to the cent.

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

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from recon_helpers.mapping import apply_product_map, customer_key
from recon_helpers.proration import is_live, weighted_quantity
from recon_helpers.schemas import (
    DISCREPANCY_COLUMNS,
    DISCREPANCY_KINDS,
    MONEY_SCALE,
    QTY_SCALE,
    money,
    qty,
)
from recon_helpers.workspace import Settings

KEY = ["client_id", "product_id"]
CENT = Decimal("0.01")


def _ratio(upp: Decimal) -> tuple[int, int]:
    n, d = upp.as_integer_ratio()
    return n, d


def _div_round(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """Integer division rounded half away from zero (vectorised, exact for int64)."""
    den = np.asarray(den, dtype="int64")
    return np.sign(num) * ((np.abs(num) * 2 + den) // (2 * den))


def delivered_month(
    delivered: pd.DataFrame,
    customers: pd.DataFrame,
    product_map: pd.DataFrame,
    period: str,
    settings: Settings,
    cust_key: pd.Series | None = None,
) -> pd.DataFrame:
    """Vendor rows with their client, product and the quantity that counts for the month.

    Args:
        cust_key: customer_key(delivered), when the caller has it already.

    Returns:
        DELIVERED columns plus cust_key, client_id, client_method, product_id,
        units_per_product, wq (weighted quantity, vendor units, fixed point) and line_cost
        (wq x unit_cost, money fixed point, <NA> when the cost is unknown).
    """
    rows = delivered.assign(cust_key=customer_key(delivered) if cust_key is None else cust_key)
    cust = customers[["cust_key", "client_id", "client_method"]]
    if cust["cust_key"].is_unique:  # map_customers() output: a lookup, cheaper than a merge
        found = pd.Index(cust["cust_key"]).get_indexer(rows["cust_key"])
        for col in ("client_id", "client_method"):
            values = cust[col].to_numpy(dtype=object)[found]
            values[found < 0] = np.nan
            rows[col] = pd.Series(values, index=rows.index, dtype=object)
        rows = rows.reset_index(drop=True)
    else:
        rows = rows.merge(cust, on="cust_key", how="left")
    rows["client_id"] = rows["client_id"].fillna("").astype(object)
    rows = apply_product_map(rows, product_map)
    rows["wq"] = weighted_quantity(
        rows["quantity"], rows["charge_start"], rows["charge_end"], period, settings.month_rule
    )
    cost = rows["unit_cost"]
    line = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    known = cost.notna()
    line[known] = _div_round(
        rows.loc[known, "wq"].to_numpy("int64") * cost[known].to_numpy("int64"), QTY_SCALE
    )
    rows["line_cost"] = line
    rows["vendor_customer"] = rows["vendor_customer_id"].where(
        rows["vendor_customer_id"].ne(""), rows["vendor_customer_name"]
    )
    return rows


def promised_month(promised: pd.DataFrame, period: str, settings: Settings) -> pd.DataFrame:
    """Agreement lines live in the month, with ``wq`` and ``wless`` under the month rule."""
    live = promised[is_live(promised["effective_date"], promised["cancelled_date"], period)].copy()
    for src, dst in (("quantity", "wq"), ("less_included", "wless")):
        live[dst] = weighted_quantity(
            live[src], live["effective_date"], live["cancelled_date"], period, settings.month_rule
        )
    return live


def _join_sources(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``file:row`` sources per key, ordered by file then row number, joined with ';'."""
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "sources"])
    src = frame[[*keys, "source"]].drop_duplicates()
    parts = src["source"].str.rsplit(":", n=1, expand=True)
    src = src.assign(_f=parts[0], _r=pd.to_numeric(parts[1], errors="coerce"))
    src = src.sort_values([*keys, "_f", "_r"], kind="stable")
    return src.groupby(keys, sort=False)["source"].agg(";".join).rename("sources").reset_index()


def _joined(frame: pd.DataFrame, keys: list[str], col: str) -> pd.Series:
    vals = frame[[*keys, col]].drop_duplicates()
    vals = vals[vals[col].astype(str).ne("")].sort_values([*keys, col])
    return vals.groupby(keys)[col].agg(";".join)


def _line_price(frame: pd.DataFrame, keys: list[str], col: str) -> pd.Series:
    """The price of several live lines of one key, independent of row order.

    Quantity-weighted average of the lines counting at month end (rounded half away from zero
    to the money scale); when none counts, the highest price among them.
    """
    known = frame[frame[col].notna()]
    if known.empty:
        return pd.Series(dtype="Int64")
    q = known["wq"].to_numpy("int64")
    value = known[col].to_numpy("int64")
    sums = known.assign(_qv=q * value, _q=q).groupby(keys)[["_qv", "_q"]].sum()
    top = known.groupby(keys)[col].max()
    avg = pd.Series(_div_round(sums["_qv"].to_numpy("int64"), np.where(sums["_q"] == 0, 1, sums["_q"])),
                    index=sums.index)
    return avg.where(sums["_q"].ne(0), top).astype("Int64")


@dataclass
class MonthTables:
    """The month's rows after mapping and proration, kept for traceability and display."""

    delivered: pd.DataFrame  # delivered_month()
    promised: pd.DataFrame  # promised_month()
    billed: pd.DataFrame


def three_way(
    month: MonthTables, catalogue: pd.DataFrame, product_map: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """One row per client x product x currency with delivered, promised and billed figures.

    Quantities are fixed point (QTY_SCALE); prices, costs and amounts fixed point
    (MONEY_SCALE), <NA> when unknown.

    Returns:
        DataFrame with client_id, product_id, currency, vendor, vendor_customer, vendor_sku,
        delivered_qty, has_delivery, agreement_qty, less_included, agreement_lines,
        covered_free, unit_price, agreement_cost, invoiced_qty, invoiced_amount,
        invoiced_expected, invoiced_lines, vendor_cost_total, vendor_cost_currency,
        catalogue_price, catalogue_currency, vendor_backed.
    """
    return three_way_from(delivered_figures(month.delivered), month.promised, month.billed,
                          catalogue, product_map, settings)


def key_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer code per row of its ``keys`` combination, numbered like a sorted groupby.

    Returns:
        (codes, the distinct key values in code order, one row per code)
    """
    combined = np.zeros(len(frame), dtype="int64")
    for col in keys:
        c, uniq = pd.factorize(frame[col], sort=True)
        combined = combined * max(len(uniq), 1) + c
    codes, _ = pd.factorize(combined, sort=True)
    _, first = np.unique(codes, return_index=True)
    return codes, frame[keys].iloc[first].reset_index(drop=True)


def _sum_by(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``values`` per code 0..n-1."""
    sums = pd.Series(values, dtype="int64").groupby(codes).sum()
    return sums.reindex(range(n), fill_value=0).to_numpy("int64")


def delivered_figures(delivered: pd.DataFrame) -> pd.DataFrame:
    """The delivered side of :func:`three_way`: one row per mapped client x product.

    Grouping runs on integer codes of the keys (factorised once) rather than on the string
    columns, which is what keeps a million vendor lines cheap.

    Args:
        delivered: :func:`delivered_month` rows.

    Returns:
        DataFrame indexed by (client_id, product_id), sorted, with delivered_qty (billed units,
        fixed point), has_delivery, vendor_cost_total (money fixed point, <NA> unless every
        line's cost is known), vendor_cost_currency ("" when mixed) and the distinct non-empty
        vendor, vendor_customer and vendor_sku joined with ';'.
    """
    dm = delivered[delivered["client_id"].ne("") & delivered["product_id"].ne("")]
    codes, keys = key_codes(dm, KEY)
    n = len(keys)
    # vendor units -> billed units per (vendor, sku) group, so byte counts convert once
    sku_codes, sku_keys = key_codes(dm.assign(_k=codes), ["_k", "vendor", "vendor_sku"])
    wq = _sum_by(sku_codes, dm["wq"].to_numpy("int64"), len(sku_keys))
    _, first = np.unique(sku_codes, return_index=True)
    upp = dm["units_per_product"].to_numpy(dtype=object)[first]
    billed_units = np.zeros(len(sku_keys), dtype="int64")
    for u in pd.unique(upp):
        num, den = _ratio(u)
        sel = upp == u
        billed_units[sel] = _div_round(wq[sel] * den, num)
    out = pd.DataFrame(
        {"delivered_qty": _sum_by(sku_keys["_k"].to_numpy(), billed_units, n), "has_delivery": True},
        index=pd.MultiIndex.from_frame(keys),
    )
    known = dm["line_cost"].notna().to_numpy()
    total = pd.array(
        _sum_by(codes[known], dm["line_cost"].to_numpy("int64", na_value=0)[known], n), dtype="Int64"
    )
    total[np.bincount(codes[~known], minlength=n) > 0] = pd.NA
    out["vendor_cost_total"] = total
    cur, cur_values = pd.factorize(dm["currency"], use_na_sentinel=False)
    width = max(len(cur_values), 1)
    pairs = np.unique(codes * width + cur)
    single = np.bincount(pairs // width, minlength=n) == 1
    currency = np.full(n, "", dtype=object)
    at = np.searchsorted(pairs // width, np.flatnonzero(single))
    currency[single] = np.asarray(cur_values, dtype=object)[pairs[at] % width]
    out["vendor_cost_currency"] = currency
    for col in ("vendor", "vendor_customer", "vendor_sku"):
        out[col] = _joined_codes(codes, keys, dm[col])
    return out


def _joined_codes(codes: np.ndarray, keys: pd.DataFrame, values: pd.Series) -> np.ndarray:
    """Per key code: its distinct non-empty values, sorted, joined with ';' (NaN when none)."""
    vc, uniq = pd.factorize(values, sort=True, use_na_sentinel=False)  # code order = sort order
    width = max(len(uniq), 1)
    pairs = np.unique(codes * width + vc)
    kcode = pairs // width
    vals = np.asarray(uniq, dtype=object)[pairs % width]
    keep = pd.Series(vals, dtype=object).astype(str).ne("").to_numpy()
    kcode, vals = kcode[keep], vals[keep]
    out = np.full(len(keys), np.nan, dtype=object)
    if not len(kcode):
        return out
    starts = np.flatnonzero(np.r_[True, kcode[1:] != kcode[:-1]])
    ends = np.r_[starts[1:], len(kcode)]
    single = ends - starts == 1
    out[kcode[starts[single]]] = vals[starts[single]]
    for lo, hi in zip(starts[~single], ends[~single], strict=True):  # few keys have several
        out[kcode[lo]] = ";".join(vals[lo:hi])
    return out


def _max_text(frame: pd.DataFrame, keys: list[str], col: str) -> pd.Series:
    """``frame.groupby(keys)[col].max()`` for text, via sorted integer codes (pandas' own max
    of object strings is very slow); NaN where a group has no value."""
    codes, uniq = pd.factorize(frame[col], sort=True)
    top = pd.Series(codes, index=frame.index).groupby([frame[k] for k in keys]).max()
    values = np.asarray(uniq, dtype=object).take(top.to_numpy().clip(0))
    return pd.Series(np.where(top.to_numpy() >= 0, values, np.nan), index=top.index, name=col)


def three_way_from(
    d_agg: pd.DataFrame,
    promised: pd.DataFrame,
    billed: pd.DataFrame,
    catalogue: pd.DataFrame,
    product_map: pd.DataFrame,
    settings: Settings,
) -> pd.DataFrame:
    """:func:`three_way` from the delivered figures (:func:`delivered_figures` or the DuckDB
    engine's equivalent), the month's agreement lines and its invoice lines."""
    pm = promised
    bill = pm[pm["billable"]]
    a_agg = bill.groupby(KEY).agg(
        agreement_qty=("wq", "sum"), less_included=("wless", "sum"), agreement_lines=("wq", "size")
    )
    a_agg["unit_price"] = _line_price(bill, KEY, "unit_price")
    a_agg["agreement_cost"] = _line_price(bill, KEY, "unit_cost")
    a_agg["currency"] = _max_text(bill, KEY, "currency")
    free = pm[~pm["billable"]].groupby(KEY).size().rename("free_lines")
    a_agg = a_agg.join(free, how="outer")

    base = a_agg.join(d_agg, how="outer").reset_index()
    base["currency"] = base["currency"].fillna("").astype(object)
    base.loc[base["currency"].eq(""), "currency"] = settings.currency

    b = billed
    b_amount = b["amount"].fillna(
        pd.Series(_div_round(b["quantity"].to_numpy("int64") * b["unit_price"].fillna(0).to_numpy("int64"), QTY_SCALE), index=b.index)
    )
    expected = pd.Series(
        _div_round(b["quantity"].to_numpy("int64") * b["unit_price"].fillna(0).to_numpy("int64"), QTY_SCALE),
        index=b.index,
    )
    b = b.assign(_amount=b_amount, _expected=expected.where(b["unit_price"].notna(), b_amount))
    b_agg = b.groupby([*KEY, "currency"]).agg(
        invoiced_qty=("quantity", "sum"),
        invoiced_amount=("_amount", "sum"),
        invoiced_expected=("_expected", "sum"),
        invoiced_lines=("quantity", "size"),
    )
    out = base.merge(b_agg.reset_index(), on=[*KEY, "currency"], how="outer")

    cat = catalogue.drop_duplicates("product_id", keep="last").set_index("product_id")
    out["catalogue_price"] = out["product_id"].map(cat["unit_price"]).astype("Int64")
    out["catalogue_currency"] = out["product_id"].map(cat["currency"].astype(object))
    out["catalogue_currency"] = out["catalogue_currency"].astype(object).where(
        out["catalogue_currency"].notna(), "")
    out["vendor_backed"] = out["product_id"].isin(set(product_map["product_id"]))
    for col in ("delivered_qty", "agreement_qty", "less_included", "invoiced_qty"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("agreement_lines", "invoiced_lines", "free_lines"):
        out[col] = out[col].fillna(0).astype("int64")
    out["has_delivery"] = out["has_delivery"].astype("boolean").fillna(False).astype(bool)
    out["covered_free"] = out["free_lines"].gt(0)
    for col in ("unit_price", "agreement_cost", "invoiced_amount", "invoiced_expected",
                "vendor_cost_total"):
        out[col] = out[col].astype("Int64")
    for col in ("vendor", "vendor_customer", "vendor_sku", "vendor_cost_currency"):
        out[col] = out[col].fillna("").astype(object)
    return out.sort_values([*KEY, "currency"], kind="stable").reset_index(drop=True)


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
    over_pct = a * 100 * tol["tol_pct_den"].to_numpy() > tol["tol_pct_num"].to_numpy() * np.abs(base)
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
        return pd.DataFrame(columns=[c for c in DISCREPANCY_COLUMNS if c not in ("period", "client_name", "sources")])
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
    for p, t, d, v, c in zip(price.astype(object), tw["vendor_cost_total"].astype(object), D, vendor,
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
        [e / q if q and not _missing(e) else None for e, q in zip(dec["IE"], dec["IQ"], strict=True)],
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
    unbilled = tw["has_delivery"].to_numpy() & (D != 0) & ~has_agree & ~tw["covered_free"].to_numpy()
    emit("unbilled_service", unbilled, dec["D"], mul(dec["D"], cat_price), unit_price=cat_price)

    if has_invoices:
        _invoice_findings(tw, dec, inv_price, has_agree, L, IQ, tol, emit, sub, mul)

    margin_qty = dec["AB"]
    neg = has_agree & pd.Series(
        [not _missing(p) and not _missing(c) and p < c for p, c in zip(dec["P"], cost, strict=True)],
        index=tw.index,
    ).to_numpy()
    emit("negative_margin", neg, none, mul(sub(dec["P"], cost), margin_qty))
    if not found:
        return pd.DataFrame(columns=[c for c in DISCREPANCY_COLUMNS if c not in ("period", "client_name", "sources")])
    return pd.concat(found, ignore_index=True)


def _invoice_findings(tw, dec, inv_price, has_agree, L, IQ, tol, emit, sub, mul) -> None:  # type: ignore[no-untyped-def]
    """invoice_mismatch and price_mismatch for keys with an agreement or an invoice line."""
    invoiced = tw["invoiced_lines"].to_numpy() > 0
    relevant = has_agree | invoiced
    agreed_bill = np.where(has_agree, tw["agreement_qty"].to_numpy("int64") - L, 0)
    qdiff = agreed_bill - IQ
    amount_gap = (tw["invoiced_expected"].fillna(0) - tw["invoiced_amount"].fillna(0)).to_numpy("int64")
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


UNMAPPED_KEYS = {
    "unmapped_customer": ["vendor", "cust_key", "currency"],
    "unmapped_product": ["vendor", "vendor_sku", "client_id", "currency"],
}


def unmapped_groups(dm: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The month's unmapped vendor lines grouped per finding key (:data:`UNMAPPED_KEYS`).

    Returns:
        kind -> DataFrame sorted by its keys, with vq (sum of wq), cost (sum of known
        line_cost, <NA> when none), vendor_customer (min), vendor_skus (distinct, sorted,
        ';'-joined) and unit_cost (when all lines carry the same one, else <NA>).
    """
    out = {}
    for kind, mask in (
        ("unmapped_customer", dm["client_id"].eq("")),
        ("unmapped_product", dm["client_id"].ne("") & dm["product_id"].eq("")),
    ):
        rows = dm[mask]
        if rows.empty:
            continue
        out[kind] = rows.groupby(UNMAPPED_KEYS[kind], sort=True).agg(
            vq=("wq", "sum"),
            cost=("line_cost", lambda s: s.sum() if s.notna().any() else pd.NA),
            vendor_customer=("vendor_customer", "min"),
            vendor_skus=("vendor_sku", lambda s: ";".join(sorted(set(s)))),
            unit_cost=("unit_cost", lambda s: s.iloc[0] if s.notna().all() and s.nunique() == 1 else pd.NA),
        ).reset_index()
    return out


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
            "client_id": g["client_id"] if "client_id" in g else "",
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
            "cust_key": g["cust_key"] if "cust_key" in g else "",
        }))
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def finding_sources(findings: pd.DataFrame, month: MonthTables) -> pd.Series:
    """The ``file:row;...`` behind each finding: every month row of its key."""
    d = month.delivered
    wanted = findings.loc[~findings["kind"].isin(UNMAPPED_KINDS), KEY]
    keyed = pd.concat([
        _rows_with_keys(t[[*KEY, "source"]], wanted) for t in (d, month.promised, month.billed)
    ], ignore_index=True)
    by_key = _join_sources(keyed, KEY).set_index(KEY)["sources"]
    cust = _join_sources(d[d["client_id"].eq("")], ["cust_key", "currency"]).set_index(
        ["cust_key", "currency"])["sources"]
    prod = _join_sources(
        d[d["client_id"].ne("") & d["product_id"].eq("")],
        ["client_id", "vendor_sku", "currency"],
    ).set_index(["client_id", "vendor_sku", "currency"])["sources"]
    return lookup_sources(findings, by_key, cust, prod)


UNMAPPED_KINDS = ("unmapped_customer", "unmapped_product")


def _rows_with_keys(frame: pd.DataFrame, wanted: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` whose (client_id, product_id) is one of ``wanted``'s."""
    if wanted.empty or frame.empty:
        return frame.iloc[:0]
    frame = frame[frame["client_id"].isin(wanted["client_id"].unique())]
    pairs = pd.MultiIndex.from_frame(wanted.drop_duplicates())
    return frame[pd.MultiIndex.from_frame(frame[KEY]).isin(pairs)]


def lookup_sources(
    findings: pd.DataFrame, by_key: pd.Series, cust: pd.Series, prod: pd.Series
) -> pd.Series:
    """Sources per finding from the joined sources per key (client x product), per unmapped
    customer (cust_key x currency) and per unmapped SKU (client x vendor_sku x currency)."""
    out = []
    for f in findings.itertuples(index=False):  # one lookup per finding, not per input row
        if f.kind == "unmapped_customer":
            out.append(cust.get((f.cust_key, f.currency), ""))
        elif f.kind == "unmapped_product":
            out.append(prod.get((f.client_id, f.vendor_sku, f.currency), ""))
        else:
            out.append(by_key.get((f.client_id, f.product_id), ""))
    return pd.Series(out, index=findings.index, dtype=object)


def order_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Stable SPEC order: kind (SPEC order), client, product, vendor keys, currency."""
    rank = {k: i for i, k in enumerate(DISCREPANCY_KINDS)}
    keyed = findings.assign(_k=findings["kind"].map(rank))
    keyed = keyed.sort_values(
        ["_k", "client_id", "product_id", "vendor", "vendor_customer", "vendor_sku", "currency"],
        kind="stable",
    )
    return keyed.drop(columns="_k").reset_index(drop=True)
