"""Three-way figures of one month: delivered (vendors), promised (agreements), billed (invoices).

Pure functions over the canonical tables. :func:`three_way` builds one row per client x product
with the month's quantities, prices and costs in fixed point; the rules that turn it into
findings are in :mod:`recon_helpers.reconcile.discrepancies`, the ``file:row`` lineage of each
finding in :mod:`recon_helpers.reconcile.lineage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import QTY_SCALE
from recon_helpers.core.workspace import Settings
from recon_helpers.reconcile.mapping import apply_product_map, customer_key
from recon_helpers.reconcile.proration import is_live, weigh_from, weighted_quantity

KEY = ["client_id", "product_id"]


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
    period: Period,
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
            rows[col] = pd.Series(values, index=rows.index, dtype=cust[col].dtype)
        rows = rows.reset_index(drop=True)
    else:
        rows = rows.merge(cust, on="cust_key", how="left")
    rows["client_id"] = rows["client_id"].fillna("").astype(object)
    rows = apply_product_map(rows, product_map)
    start = rows["charge_start"]
    if settings.month_rule == "day_weighted":
        start = weigh_from(rows, period)
    rows["wq"] = weighted_quantity(
        rows["quantity"], start, rows["charge_end"], period, settings.month_rule
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


def promised_month(promised: pd.DataFrame, period: Period, settings: Settings) -> pd.DataFrame:
    """Agreement lines live in the month, with ``wq`` and ``wless`` under the month rule."""
    live = promised[is_live(promised["effective_date"], promised["cancelled_date"], period)].copy()
    for src, dst in (("quantity", "wq"), ("less_included", "wless")):
        live[dst] = weighted_quantity(
            live[src], live["effective_date"], live["cancelled_date"], period, settings.month_rule
        )
    return live


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
    den = np.where(sums["_q"] == 0, 1, sums["_q"])
    avg = pd.Series(_div_round(sums["_qv"].to_numpy("int64"), den), index=sums.index)
    return avg.where(sums["_q"].ne(0), top).astype("Int64")


@dataclass(frozen=True)
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


def key_codes(
    frame: pd.DataFrame, keys: list[str], factors: dict | None = None  # type: ignore[type-arg]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer code per row of its ``keys`` combination, numbered like a sorted groupby.

    Args:
        factors: column -> ``pd.factorize(column, sort=True)`` already computed.

    Returns:
        (codes, the distinct key values in code order, one row per code)
    """
    combined = np.zeros(len(frame), dtype="int64")
    for col in keys:
        c, uniq = (factors or {}).get(col) or pd.factorize(frame[col], sort=True)
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
    cols = [*KEY, "vendor", "vendor_sku", "vendor_customer", "wq", "units_per_product",
            "line_cost", "currency"]
    mapped = delivered["client_id"].ne("") & delivered["product_id"].ne("")
    dm = delivered.loc[mapped, cols]  # only the columns used: a copy of 9, not all 25
    codes, keys = key_codes(dm, KEY)
    n = len(keys)
    # vendor units -> billed units per (vendor, sku) group, so byte counts convert once
    # each text column hashed once (sorted codes) and shared by the groupings below
    factors = {c: pd.factorize(dm[c], sort=True, use_na_sentinel=False)
               for c in ("vendor", "vendor_sku", "vendor_customer")}
    by_sku = dm[["vendor", "vendor_sku"]].assign(_k=codes)  # two columns, not the whole frame
    sku_codes, sku_keys = key_codes(by_sku, ["_k", "vendor", "vendor_sku"], factors)
    wq = _sum_by(sku_codes, dm["wq"].to_numpy("int64"), len(sku_keys))
    _, first = np.unique(sku_codes, return_index=True)
    upp = dm["units_per_product"].to_numpy(dtype=object)[first]
    billed_units = np.zeros(len(sku_keys), dtype="int64")
    for u in pd.unique(upp):
        num, den = _ratio(u)
        sel = upp == u
        billed_units[sel] = _div_round(wq[sel] * den, num)
    out = pd.DataFrame(
        {"delivered_qty": _sum_by(sku_keys["_k"].to_numpy(), billed_units, n),
         "has_delivery": True},
        index=pd.MultiIndex.from_frame(keys),
    )
    known = dm["line_cost"].notna().to_numpy()
    total = pd.array(
        _sum_by(codes[known], dm["line_cost"].to_numpy("int64", na_value=0)[known], n),
        dtype="Int64",
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
        out[col] = _joined_codes(codes, keys, factors[col])
    return out


def _joined_codes(
    codes: np.ndarray, keys: pd.DataFrame, factorized: tuple[np.ndarray, object]
) -> np.ndarray:
    """Per key code: its distinct non-empty values, sorted, joined with ';' (NaN when none).

    Args:
        factorized: ``pd.factorize(values, sort=True, use_na_sentinel=False)`` of the column
            (code order = sort order).
    """
    vc, uniq = factorized
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
    price = b["unit_price"].fillna(0).to_numpy("int64")
    line_value = pd.Series(
        _div_round(b["quantity"].to_numpy("int64") * price, QTY_SCALE), index=b.index
    )
    b_amount = b["amount"].fillna(line_value)  # an invoice line without amount: qty x price
    b = b.assign(_amount=b_amount, _expected=line_value.where(b["unit_price"].notna(), b_amount))
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
