"""Lineage of findings: the ``file:row`` of every input row behind each discrepancy."""

from __future__ import annotations

import pandas as pd

from recon_helpers.reconcile.discrepancies import UNMAPPED_KINDS, unmapped_masks
from recon_helpers.reconcile.matching import KEY, MonthTables


def _join_sources(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``file:row`` sources per key, ordered by file then row number, joined with ';'."""
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "sources"])
    src = frame[[*keys, "source"]].drop_duplicates()
    parts = src["source"].str.rsplit(":", n=1, expand=True)
    src = src.assign(_f=parts[0], _r=pd.to_numeric(parts[1], errors="coerce"))
    src = src.sort_values([*keys, "_f", "_r"], kind="stable")
    return src.groupby(keys, sort=False)["source"].agg(";".join).rename("sources").reset_index()


def finding_sources(findings: pd.DataFrame, month: MonthTables) -> pd.Series:
    """The ``file:row;...`` behind each finding: every month row of its key."""
    d = month.delivered
    wanted = findings.loc[~findings["kind"].isin(UNMAPPED_KINDS), KEY]
    keyed = pd.concat([
        _rows_with_keys(t[[*KEY, "source"]], wanted) for t in (d, month.promised, month.billed)
    ], ignore_index=True)
    by_key = _join_sources(keyed, KEY).set_index(KEY)["sources"]
    masks = unmapped_masks(d)
    cust = _join_sources(d[masks["unmapped_customer"]], ["cust_key", "currency"]).set_index(
        ["cust_key", "currency"])["sources"]
    prod = _join_sources(
        d[masks["unmapped_product"]], ["client_id", "vendor_sku", "currency"],
    ).set_index(["client_id", "vendor_sku", "currency"])["sources"]
    return lookup_sources(findings, by_key, cust, prod)


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
