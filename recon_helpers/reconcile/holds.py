"""Findings held until something else is settled: they count in no money total meanwhile.

A finding is *held* (its ``hold`` column; ``detail`` says why) when its figures cannot be
trusted yet:

* ``source_missing``: a source the month expects is missing or stale
  (reconcile/expectations.py). The quantity findings (billed_not_delivered, over_billed,
  under_billed) of every product that vendor backs in ``products.csv`` are held: the vendor
  did not report, which is not the client having nothing. With the agreements (promised)
  missing, every unbilled_service is held.
* ``quarantined_row``: a row this comparison needed was set aside (a data-losing quarantine
  reason) and names the finding's client and product: the row's figures are not in it.
* ``pending_mapping``: an unmapped (or ambiguously named) vendor customer of a vendor may be
  this client (its suggestions include the client): the client's billed_not_delivered and
  over_billed findings on that vendor's products wait on the mapping.

A finding held for several reasons names them all; ``hold`` is the first of the order above.

Example:
    >>> held = hold_findings(findings, missing, product_map, customers, suggestions, quarantine)
    >>> held.loc[held["hold"].ne(""), ["kind", "client_id", "hold"]]
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DATA_LOSING_REASONS
from recon_helpers.reconcile.mapping import customer_ref
from recon_helpers.reconcile.names import normalise_name


@dataclass(frozen=True)
class MissingSource:
    """A source the month expects that is absent, or whose dates do not cover the month."""

    source: str  # e.g. "huntress organizations", "connectwise invoices"
    vendor: str  # the vendor key (delivered sources) or the PSA family
    role: str  # delivered, promised, billed, clients, catalogue
    reason: str  # "missing" | "stale: <why>"
    present_in: tuple[Period, ...] = ()  # the earlier months it was seen in


def describe_missing(m: MissingSource) -> str:
    """One line for the summary: ``missing: huntress organizations, present in 2026-08 and
    2026-09``."""
    seen = [str(p) for p in m.present_in]
    where = (f", present in {', '.join(seen[:-1])} and {seen[-1]}" if len(seen) > 1
             else f", present in {seen[0]}" if seen else ", declared in recon.toml [expect]")
    if m.reason == "missing":
        return f"missing: {m.source}{where}"
    return f"stale: {m.source} ({m.reason.removeprefix('stale: ')}){where}"


QUANTITY_KINDS = ("billed_not_delivered", "over_billed", "under_billed")
MAPPING_KINDS = ("billed_not_delivered", "over_billed")
ORDER = ("source_missing", "quarantined_row", "pending_mapping")

Key = tuple[str, str]  # (client_id, product_id)


def _backed(product_map: pd.DataFrame) -> dict[str, set[str]]:
    """vendor -> the products its SKUs are mapped to."""
    out: dict[str, set[str]] = defaultdict(set)
    for vendor, product in zip(product_map["vendor"], product_map["product_id"], strict=True):
        out[str(vendor).lower()].add(str(product))
    return out


def _missing_reasons(findings: pd.DataFrame, missing: tuple[MissingSource, ...],
                     backed: dict[str, set[str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for m in missing:
        seen = ", ".join(map(str, m.present_in))
        why = (f"{m.source} {'is missing this month' if m.reason == 'missing' else m.reason}"
               + (f" (present in {seen})" if seen else ""))
        if m.role == "delivered":
            hit = findings["kind"].isin(QUANTITY_KINDS) & findings["product_id"].isin(
                backed.get(m.vendor, set()))
            note = f"{why}: the vendor's figures are not in this comparison"
        elif m.role == "promised":
            hit = findings["kind"].eq("unbilled_service")
            note = f"{why}: without the agreements every delivery looks unbilled"
        else:
            continue
        for i in findings.index[hit]:
            out[i].append(f"source_missing: {note}")
    return out


def quarantined_keys(quarantine: pd.DataFrame, customers: pd.DataFrame,
                     product_map: pd.DataFrame) -> dict[Key, list[str]]:
    """(client, product) -> the data-losing quarantined rows that name it ("file:row (why)").

    A PSA row names its client and product directly; a vendor row names its vendor customer
    and SKU, resolved here through the month's customer mapping and products.csv.
    """
    cols = {"client_id", "product_id", "vendor", "vendor_customer", "vendor_sku"}
    if quarantine.empty or not cols & set(quarantine.columns):
        return {}
    q = quarantine[quarantine["reason"].isin([r.value for r in DATA_LOSING_REASONS])]
    q = q.drop_duplicates(["file", "row"])
    get = {c: q[c].astype(str) if c in q else pd.Series("", index=q.index) for c in cols}
    client = get["client_id"].copy()
    product = get["product_id"].copy()
    vendor_rows = client.eq("") & get["vendor"].ne("")
    if vendor_rows.any():
        by_id = dict(zip(customers["cust_key"], customers["client_id"], strict=True))
        probe = pd.DataFrame({"vendor": get["vendor"][vendor_rows],
                              "vendor_customer_id": get["vendor_customer"][vendor_rows],
                              "vendor_customer_name": ""})
        named = customers.assign(_n=customers["vendor"].str.lower() + "|"
                                 + customers["vendor_customer_name"].map(normalise_name))
        by_name = dict(zip(named["_n"], named["client_id"], strict=True))
        ids = customer_ref(probe)
        names = probe["vendor"].str.lower() + "|" + probe["vendor_customer_id"].map(
            normalise_name)
        client[vendor_rows] = [by_id.get(i) or by_name.get(n, "") for i, n in
                               zip(ids, names, strict=True)]
        pm = dict(zip(product_map["vendor"] + "|" + product_map["sku_key"],
                      product_map["product_id"], strict=True))
        skus = get["vendor"][vendor_rows].str.lower() + "|" + get["vendor_sku"][
            vendor_rows].str.lower()
        product[vendor_rows] = [pm.get(s, "") for s in skus]
    out: dict[Key, list[str]] = defaultdict(list)
    for i in q.index:
        if client[i] and product[i]:
            value = f" {q.at[i, 'column']}={q.at[i, 'value']!r}" if q.at[i, "column"] else ""
            out[(client[i], product[i])].append(
                f"{q.at[i, 'file']}:{q.at[i, 'row']} ({q.at[i, 'reason']}{value})")
    return out


def _quarantine_reasons(findings: pd.DataFrame, keys: dict[Key, list[str]]
                        ) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for i, c, p in zip(findings.index, findings["client_id"], findings["product_id"],
                       strict=True):
        rows = keys.get((c, p))
        if rows:
            out[i] = [f"quarantined_row: {'; '.join(rows[:3])}"
                      + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
                      + " set aside; its figures are not in this comparison"]
    return out


def _mapping_reasons(findings: pd.DataFrame, customers: pd.DataFrame,
                     suggestions: pd.DataFrame, backed: dict[str, set[str]]
                     ) -> dict[int, list[str]]:
    unmapped = customers[customers["client_method"].isin(["", "ambiguous"])]
    if unmapped.empty or suggestions.empty:
        return {}
    waiting = suggestions.merge(
        unmapped[["vendor", "vendor_customer_id", "vendor_customer_name"]],
        on=["vendor", "vendor_customer_id", "vendor_customer_name"])
    out: dict[int, list[str]] = defaultdict(list)
    candidates = findings[findings["kind"].isin(MAPPING_KINDS)]
    for s in waiting.itertuples(index=False):
        vendor = str(s.vendor).lower()
        hit = candidates[candidates["client_id"].eq(s.client_id)
                         & candidates["product_id"].isin(backed.get(vendor, set()))]
        who = waiting_on(vendor, s.vendor_customer_id, s.vendor_customer_name)
        for i in hit.index:
            out[i].append(
                f"pending_mapping: {who}"
                f" and may be this client (suggested, score {s.score}): map it with `recon map "
                f"--period {findings.at[i, 'period']} --accept "
                f"{vendor}:{s.vendor_customer_id or s.vendor_customer_name}={s.client_id}`, "
                "or ignore it")
    return out


def waiting_on(vendor: str, vendor_customer_id: str, vendor_customer_name: str) -> str:
    """How a held finding names the unmapped vendor customer it waits on."""
    who = vendor_customer_name or vendor_customer_id
    ident = f" (id {vendor_customer_id})" if vendor_customer_id else ""
    return f"{vendor.lower()} customer {who!r}{ident} is unmapped"


def hold_findings(findings: pd.DataFrame, missing: tuple[MissingSource, ...],
                  product_map: pd.DataFrame, customers: pd.DataFrame,
                  suggestions: pd.DataFrame, quarantine: pd.DataFrame) -> pd.DataFrame:
    """``findings`` with ``hold`` set and the reasons put before ``detail``.

    Args:
        findings: the month's findings (FINDING_COLUMNS).
        missing: missing or stale sources.
        product_map: read_product_map() (which vendor backs which product).
        customers: the month's vendor customers with their mapping (map_customers()).
        suggestions: client_suggestions() of the unmapped ones.
        quarantine: the month's quarantine (with its identity columns where known).
    """
    if findings.empty:
        return findings
    backed = _backed(product_map)
    qkeys = quarantined_keys(quarantine, customers, product_map)
    reasons: dict[int, list[str]] = defaultdict(list)
    for part in (_missing_reasons(findings, missing, backed),
                 _quarantine_reasons(findings, qkeys),
                 _mapping_reasons(findings, customers, suggestions, backed)):
        for i, texts in part.items():
            reasons[i].extend(t for t in texts if t not in reasons[i])
    out = findings.copy()
    hold = pd.Series("", index=out.index, dtype=object)
    for i, texts in reasons.items():
        codes = [t.split(":", 1)[0] for t in texts]
        hold[i] = next(c for c in ORDER if c in codes)
        out.at[i, "detail"] = f"held ({'; '.join(texts)}). {out.at[i, 'detail']}"
    out["hold"] = hold
    return out
