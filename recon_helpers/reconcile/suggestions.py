"""Fuzzy suggestions for what no mapping rule reaches: clients for unmapped vendor customers,
products for unmapped vendor SKUs. A suggestion is never used until it is confirmed into the
mapping files (``recon map --accept``, :mod:`recon_helpers.audit.mapping_changes`).

Example:
    >>> client_suggestions(customers, clients)     # best first per vendor customer
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from recon_helpers.reconcile.names import normalise_name


def suggest(
    names: pd.Series, choices: pd.DataFrame, *, limit: int = 3, min_score: int = 60
) -> pd.DataFrame:
    """Rank fuzzy matches of ``names`` against ``choices`` (id, name, norm_name).

    Scores are rapidfuzz token-sort ratios on normalised names, 0-100. Computed in blocks of
    queries so 20,000 x 20,000 names stay within a few hundred MB.

    Returns:
        DataFrame (query, choice_id, choice_name, score, rank), best first per query.
    """
    out_cols = ["query", "choice_id", "choice_name", "score", "rank"]
    if names.empty or choices.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in out_cols})
    queries = names.astype(str).drop_duplicates().reset_index(drop=True)
    # token_sort_ratio is the plain ratio of the names with their words sorted: sorting once
    # per name, not once per pair, lets rapidfuzz use its fast bit-parallel ratio
    qnorm = [" ".join(sorted(normalise_name(q).split())) for q in queries]
    cnorm = [" ".join(sorted(str(c).split())) for c in choices["norm_name"]]
    k = min(limit, len(cnorm))
    parts = []
    rows = 5000  # queries per cdist call: ~100 MB of scores against 20,000 choices
    for start in range(0, len(qnorm), rows):
        block = process.cdist(
            qnorm[start : start + rows], cnorm, scorer=fuzz.ratio,
            dtype=np.uint8, workers=-1, score_cutoff=min_score,
        )
        # best k per query by score, ties by choice order. Below the cutoff cdist writes 0, so
        # only the few non-zero cells (>= max(cutoff, 1)) can rank: find them 8 cells at a
        # time, then order them by query, score (desc), choice through one integer key
        n = block.shape[1]
        flat = block.reshape(-1)
        padded = flat if flat.size % 8 == 0 else np.pad(flat, (0, -flat.size % 8))
        words = np.flatnonzero(padded.view(np.uint64))
        cells = (words[:, None] * 8 + np.arange(8)).reshape(-1)
        found = padded[cells]
        cells, found = cells[found != 0], found[found != 0].astype(np.int64)
        key = np.sort(cells // n * (101 * n) + (100 - found) * n + cells % n)
        qi, rest = np.divmod(key, 101 * n)
        scores, ci = 100 - rest // n, rest % n
        first = np.searchsorted(qi, qi, side="left")
        rank = np.arange(len(qi)) - first
        keep = rank < k
        qi, ci, scores, rank = qi[keep], ci[keep], scores[keep], rank[keep]
        parts.append(
            pd.DataFrame(
                {
                    "query": queries.iloc[start + qi].to_numpy(),
                    "choice_id": choices["choice_id"].to_numpy()[ci],
                    "choice_name": choices["choice_name"].to_numpy()[ci],
                    "score": scores.astype(int),
                    "rank": rank + 1,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[out_cols]


def client_suggestions(
    customers: pd.DataFrame, clients: pd.DataFrame, *, limit: int = 3, min_score: int = 60
) -> pd.DataFrame:
    """Fuzzy client suggestions for the unmapped vendor customers of map_customers().

    Returns:
        DataFrame (vendor, vendor_customer_id, vendor_customer_name, client_id, client_name,
        score, rank).
    """
    unmapped = customers[customers["client_id"].eq("")]
    choices = clients.rename(columns={"client_id": "choice_id", "client_name": "choice_name"})
    ranked = suggest(unmapped["vendor_customer_name"], choices, limit=limit, min_score=min_score)
    merged = unmapped[["vendor", "vendor_customer_id", "vendor_customer_name"]].merge(
        ranked, left_on="vendor_customer_name", right_on="query"
    )
    merged = merged.rename(columns={"choice_id": "client_id", "choice_name": "client_name"})
    cols = ["vendor", "vendor_customer_id", "vendor_customer_name", "client_id", "client_name",
            "score", "rank"]
    ordered = merged[cols].sort_values(["vendor", "vendor_customer_name", "rank"])
    return ordered.reset_index(drop=True)


def product_suggestions(
    unmapped: pd.DataFrame, products: pd.DataFrame, *, limit: int = 3, min_score: int = 50
) -> pd.DataFrame:
    """Fuzzy product suggestions for unmapped SKUs from their names.

    Args:
        unmapped: rows with vendor, vendor_sku, sku_name.
        products: rows with product_id, description (catalogue and agreement lines).

    Returns:
        DataFrame (vendor, vendor_sku, sku_name, product_id, description, score, rank).
    """
    choices = products[["product_id", "description"]].drop_duplicates("product_id")
    choices = choices.rename(columns={"product_id": "choice_id", "description": "choice_name"})
    choices["norm_name"] = choices["choice_name"].astype(str).map(normalise_name)
    skus = unmapped.drop_duplicates(["vendor", "vendor_sku"])
    names = skus["sku_name"].where(skus["sku_name"].astype(str).ne(""), skus["vendor_sku"])
    ranked = suggest(names, choices, limit=limit, min_score=min_score)
    merged = skus.assign(query=names.astype(str))[["vendor", "vendor_sku", "sku_name", "query"]]
    merged = merged.merge(ranked, on="query").rename(
        columns={"choice_id": "product_id", "choice_name": "description"}
    )
    cols = ["vendor", "vendor_sku", "sku_name", "product_id", "description", "score", "rank"]
    return merged[cols].sort_values(["vendor", "vendor_sku", "rank"]).reset_index(drop=True)
