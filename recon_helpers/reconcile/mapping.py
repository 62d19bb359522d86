"""Vendor customer -> PSA client and vendor SKU -> PSA product: the mapping files and the rules.

Order of precedence for a vendor customer (the first that answers wins):

1. ``mappings/clients.csv`` by ``(vendor, vendor_customer_id)``; rows without an id match by
   normalised name (the id wins when both are present);
2. ``mappings/ignore.csv``: a vendor customer deliberately not billed (internal, trial, demo
   tenants) raises no finding and is listed with its reason;
3. a link the source already carries (Pax8 ``externalId``, Datto RMM ``autotaskCompanyId``)
   when it names a known client;
4. the normalised name (:mod:`recon_helpers.reconcile.names`) equals exactly one client's;
   a name equal to two or more clients' is ``ambiguous`` and never mapped.

Everything else is unmapped and gets ranked fuzzy suggestions
(:mod:`recon_helpers.reconcile.suggestions`), never used until confirmed into the mapping file
(``recon map``). Vendor names, customer IDs and SKUs compare case-insensitively.

A mapping file that contradicts itself (one vendor customer or SKU given two targets) is an
error naming both rows; so is a row this month uses that names a client (or, with a
catalogue loaded, a product) the month's PSA data does not know.

Example:
    >>> cmap = read_client_map(ws.clients_map)
    >>> mapped = map_customers(loaded.delivered, known_clients(loaded.clients), cmap)
    >>> mapped.groupby("client_method").size()
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from recon_helpers.core.errors import ConfigError
from recon_helpers.core.exports import unprotect_cell
from recon_helpers.reconcile.names import normalise_name

CLIENT_MAP_COLUMNS = ("vendor", "vendor_customer_id", "vendor_customer_name", "client_id")
PRODUCT_MAP_COLUMNS = ("vendor", "vendor_sku", "product_id", "units_per_product")
IGNORE_COLUMNS = ("vendor", "vendor_customer_id", "vendor_customer_name", "reason")


def _read_map(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in (*columns, "row")})
    # bytes, not read_text(): newline translation would turn a quoted "\r\n" into "\n"
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [r for r in rows if any(v.strip() for v in r)]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in (*columns, "row")})
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in columns[:3] if c not in header]
    if missing:
        raise ConfigError(f"{path.name}: header lacks {missing}; expected {','.join(columns)}")
    body = []
    for n, r in enumerate(rows[1:], start=1):
        if len(r) != len(header):
            raise ConfigError(f"{path.name}:{n}: {len(r)} fields, header has {len(header)}")
        body.append(dict(zip(header, (unprotect_cell(v.strip()) for v in r), strict=True)))
    frame = pd.DataFrame(body, columns=header, dtype=object).reindex(columns=list(columns))
    frame = frame.fillna("").astype(object)
    frame["row"] = range(1, len(frame) + 1)
    frame["vendor"] = frame["vendor"].str.lower()
    return frame


def customer_ref(frame: pd.DataFrame) -> pd.Series:
    """What a mapping row (or a vendor customer) names: ``vendor|id`` or ``vendor|name:<norm>``."""
    ident = frame["vendor_customer_id"].astype(str).str.lower()
    named = frame["vendor_customer_name"].astype(str).map(normalise_name)
    return frame["vendor"].str.lower() + "|" + ident.where(ident.ne(""), "name:" + named)


def _contradictions(frame: pd.DataFrame, ref: pd.Series, target: str, path: Path) -> None:
    """Refuse two rows giving one vendor customer (or SKU) different targets."""
    keyed = frame.assign(_ref=ref.to_numpy())
    for _, grp in keyed.groupby("_ref", sort=False):
        targets = grp.drop_duplicates(target)
        if len(targets) > 1:
            a, b = targets.iloc[0], targets.iloc[1]
            raise ConfigError(
                f"{path.name}: rows {a['row']} and {b['row']} map "
                f"{_named(a)} to different {target}s: {a[target]} (row {a['row']}) and "
                f"{b[target]} (row {b['row']}); keep one of them")


def _named(row: pd.Series) -> str:
    if "vendor_sku" in row:
        return f"{row['vendor']} SKU {row['vendor_sku']!r}"
    name = f" ({row['vendor_customer_name']!r})" if row["vendor_customer_name"] else ""
    ident = row["vendor_customer_id"] or row["vendor_customer_name"]
    return f"{row['vendor']} customer {ident!r}{name if row['vendor_customer_id'] else ''}"


def read_client_map(path: Path) -> pd.DataFrame:
    """Read mappings/clients.csv (CLIENT_MAP_COLUMNS + ``row``); absent file = empty map.

    Raises:
        ConfigError: bad header, ragged row, a row without vendor or client_id, a row with
            neither vendor_customer_id nor vendor_customer_name, or two rows giving one vendor
            customer different clients (names both rows).
    """
    frame = _read_map(path, CLIENT_MAP_COLUMNS)
    for _, r in frame.iterrows():  # a mapping file is small and each bad row needs its own message
        if not r["vendor"] or not r["client_id"]:
            raise ConfigError(f"{path.name}:{r['row']}: vendor and client_id are required")
        if not r["vendor_customer_id"] and not r["vendor_customer_name"]:
            raise ConfigError(
                f"{path.name}:{r['row']}: give vendor_customer_id or vendor_customer_name"
            )
    _contradictions(frame, customer_ref(frame), "client_id", path)
    return frame


def read_ignore_map(path: Path) -> pd.DataFrame:
    """Read mappings/ignore.csv (IGNORE_COLUMNS + ``row``): vendor customers not billed.

    Raises:
        ConfigError: bad header or ragged row, a row without vendor or reason, or without
            both vendor_customer_id and vendor_customer_name.
    """
    frame = _read_map(path, IGNORE_COLUMNS)
    for _, r in frame.iterrows():
        if not r["vendor"] or not r["reason"]:
            raise ConfigError(f"{path.name}:{r['row']}: vendor and reason are required")
        if not r["vendor_customer_id"] and not r["vendor_customer_name"]:
            raise ConfigError(
                f"{path.name}:{r['row']}: give vendor_customer_id or vendor_customer_name"
            )
    return frame


def read_product_map(path: Path) -> pd.DataFrame:
    """Read mappings/products.csv (PRODUCT_MAP_COLUMNS + ``row``); ``units_per_product`` as Decimal.

    Raises:
        ConfigError: a missing field, a non-positive or non-numeric units_per_product, the
            same row twice, or two rows giving one vendor SKU different products (names both).
    """
    frame = _read_map(path, PRODUCT_MAP_COLUMNS)
    units = []
    for _, r in frame.iterrows():
        if not (r["vendor"] and r["vendor_sku"] and r["product_id"]):
            raise ConfigError(
                f"{path.name}:{r['row']}: vendor, vendor_sku and product_id are required"
            )
        try:
            upp = Decimal(r["units_per_product"] or "1")
        except InvalidOperation:
            upp = Decimal(0)
        if not upp.is_finite() or upp <= 0:
            raise ConfigError(
                f"{path.name}:{r['row']}: units_per_product {r['units_per_product']!r} "
                "must be a positive number"
            )
        units.append(upp)
    frame["units_per_product"] = pd.Series(units, index=frame.index, dtype=object)
    frame["sku_key"] = frame["vendor_sku"].str.lower()
    dup = frame.duplicated(["vendor", "sku_key", "product_id"], keep=False)
    if dup.any():
        rows = frame.loc[dup, "row"].tolist()
        raise ConfigError(f"{path.name}: rows {rows} map the same vendor SKU to the same product")
    _contradictions(frame, frame["vendor"] + "|" + frame["sku_key"], "product_id", path)
    return frame


def known_clients(clients: pd.DataFrame, *others: pd.DataFrame) -> pd.DataFrame:
    """Every PSA client id with a name: the clients table first, then agreement/invoice tables.

    Returns:
        DataFrame (client_id, client_name, norm_name), one row per client_id.
    """
    parts = [clients[["client_id", "client_name"]]]
    for o in others:
        if "client_id" in o:
            names = o.get("client_name", "")
            parts.append(pd.DataFrame({"client_id": o["client_id"], "client_name": names}))
    allc = pd.concat(parts, ignore_index=True)
    allc = allc[allc["client_id"].astype(str).ne("")]
    # prefer a row that carries a name
    allc = allc.assign(_named=allc["client_name"].astype(str).ne(""))
    allc = allc.sort_values("_named", ascending=False, kind="stable")
    out = allc.drop_duplicates("client_id")[["client_id", "client_name"]].reset_index(drop=True)
    out["norm_name"] = out["client_name"].astype(str).map(normalise_name)
    return out


def customers_of(delivered: pd.DataFrame, keys: pd.Series | None = None) -> pd.DataFrame:
    """Distinct vendor customers of the delivered table with their best name and source link.

    Args:
        keys: customer_key(delivered), when the caller has it already.
    """
    cols = ["vendor", "vendor_customer_id", "vendor_customer_name", "client_link"]
    frame = delivered[cols].copy()
    frame["cust_key"] = customer_key(delivered) if keys is None else keys
    return frame.drop_duplicates("cust_key").reset_index(drop=True)


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Codes of each row's distinct combination of values, and the first row of each code.

    ``frame.iloc[first]`` holds the distinct combinations in order of appearance and
    ``codes`` maps every row to one of them, so a function of the values can run once per
    combination (vendor lines repeat the same customer and SKU thousands of times).
    """
    codes = np.zeros(len(frame), dtype="int64")
    for col in frame.columns:
        c, uniq = pd.factorize(frame[col], use_na_sentinel=False)
        codes, _ = pd.factorize(codes * max(len(uniq), 1) + c)
    _, first = np.unique(codes, return_index=True)
    return codes, first


def per_distinct(frame: pd.DataFrame, func) -> pd.Series:  # type: ignore[no-untyped-def]
    """``func(frame)`` computed on the distinct rows of ``frame`` and spread to every row.

    ``func`` must be row-wise (each output value depends on its own row only).
    """
    if len(frame) < 5000:  # factorising costs more than it saves on a small frame
        return func(frame)
    codes, first = distinct_rows(frame)
    values = func(frame.iloc[first].reset_index(drop=True))
    return pd.Series(values.to_numpy()[codes], index=frame.index, dtype=values.dtype)


def customer_key(delivered: pd.DataFrame) -> pd.Series:
    """The identity of a vendor customer: vendor + id (or, without an id, + normalised name)."""
    cols = delivered[["vendor", "vendor_customer_id", "vendor_customer_name"]]
    return per_distinct(cols, customer_ref)


def lower(values: pd.Series) -> pd.Series:
    """``values.str.lower()``, computed once per distinct value."""
    return per_distinct(values.to_frame(), lambda f: f.iloc[:, 0].str.lower())


def map_customers(
    delivered: pd.DataFrame, clients: pd.DataFrame, client_map: pd.DataFrame,
    ignore_map: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Decide the client of every distinct vendor customer.

    Args:
        delivered: DELIVERED rows.
        clients: known_clients() output.
        client_map: read_client_map() output.
        ignore_map: read_ignore_map() output.

    Returns:
        DataFrame per vendor customer: vendor, vendor_customer_id, vendor_customer_name,
        client_link, cust_key, client_id ("" when unmapped), client_method (mapping_id,
        mapping_name, ignored, source_link, auto_name, ambiguous or ""), ignore_reason.
    """
    return assign_clients(customers_of(delivered), clients, client_map, ignore_map)


def _lookup(rows: pd.DataFrame, value: str) -> tuple[dict[str, str], dict[str, str]]:
    """(``vendor|id`` -> value, ``vendor|name:<norm>`` -> value) of mapping rows."""
    refs = customer_ref(rows) if len(rows) else pd.Series(dtype=object)
    by_id = rows["vendor_customer_id"].astype(str).ne("")
    return (dict(zip(refs[by_id], rows.loc[by_id, value], strict=True)),
            dict(zip(refs[~by_id], rows.loc[~by_id, value], strict=True)))


def _first(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a`` where it has a value, else ``b``."""
    return a.astype(object).where(a.notna(), b.astype(object))


def assign_clients(
    cust: pd.DataFrame, clients: pd.DataFrame, client_map: pd.DataFrame,
    ignore_map: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`map_customers` on the distinct vendor customers of :func:`customers_of` (which
    the DuckDB engine computes from its own tables)."""
    cust = cust.copy()
    cust["client_id"] = ""
    cust["client_method"] = ""
    cust["ignore_reason"] = ""
    vendor = cust["vendor"].str.lower()
    norm = cust["vendor_customer_name"].astype(str).map(normalise_name)
    id_ref = vendor + "|" + cust["vendor_customer_id"].astype(str).str.lower()
    name_ref = vendor + "|name:" + norm
    by_id, by_name = _lookup(client_map, "client_id")
    ignore_map = ignore_map if ignore_map is not None else pd.DataFrame(
        columns=[*IGNORE_COLUMNS, "row"])
    ignore_id, ignore_name = _lookup(ignore_map, "reason")
    known = set(clients["client_id"])
    link = cust["client_link"].astype(str)
    counts = clients["norm_name"].value_counts()
    unique_names = clients[clients["norm_name"].map(counts).eq(1) & clients["norm_name"].ne("")]
    by_norm = dict(zip(unique_names["norm_name"], unique_names["client_id"], strict=True))
    shared = set(counts[counts > 1].index) - {""}
    for hit, method in (
        (id_ref.map(by_id), "mapping_id"),
        (name_ref.map(by_name), "mapping_name"),
        (_first(id_ref.map(ignore_id), name_ref.map(ignore_name)), "ignored"),
        (link.where(link.isin(known) & link.ne("")), "source_link"),
        (norm.map(by_norm), "auto_name"),
        (norm.where(norm.isin(shared)), "ambiguous"),
    ):
        take = cust["client_method"].eq("") & hit.notna()
        target = "ignore_reason" if method == "ignored" else "client_id"
        if method != "ambiguous":
            cust.loc[take, target] = hit[take]
        cust.loc[take, "client_method"] = method
    return cust


def known_products(loaded: object) -> set[str] | None:
    """The month's products (catalogue, agreements, invoices), or None without a catalogue:
    then a product no agreement names yet may still be real (an unbilled service)."""
    tables = loaded.tables  # type: ignore[attr-defined]
    if tables["catalogue"].empty:
        return None
    return set().union(*(set(tables[r]["product_id"]) for r in ("catalogue", "promised",
                                                                  "billed")))


def check_used_rows(
    cust: pd.DataFrame, clients: pd.DataFrame, client_map: pd.DataFrame,
    ignore_map: pd.DataFrame | None, used_skus: set[tuple[str, str]],
    product_map: pd.DataFrame, products: set[str] | None,
) -> None:
    """Refuse the mapping rows this month uses that point nowhere or contradict each other.

    A clients.csv row a vendor customer of the month matches must name a client the month's
    PSA data knows, and no vendor customer may be both mapped and ignored; a products.csv row
    a SKU of the month matches must name a known product when the month has a catalogue
    (``products``; None: no catalogue to check against). Rows for vendor customers or SKUs not
    in this month are left alone: clients come and go.

    Raises:
        ConfigError: names the file, the row and the value.
    """
    refs = set(customer_key(cust)) | set(
        cust["vendor"].str.lower() + "|name:" + cust["vendor_customer_name"].map(normalise_name))
    used = client_map[customer_ref(client_map).isin(refs).to_numpy()] if len(client_map) else \
        client_map
    unknown = used[~used["client_id"].isin(set(clients["client_id"]))]
    if len(unknown):
        r = unknown.iloc[0]
        raise ConfigError(
            f"clients.csv row {r['row']}: maps {_named(r)} to client {r['client_id']!r}, which the "
            "PSA data of the month does not know; correct the client id, or list the vendor "
            "customer in mappings/ignore.csv if it is not billed")
    if ignore_map is not None and len(ignore_map):
        ignored = set(customer_ref(ignore_map))
        mapped = cust[cust["client_method"].isin(["mapping_id", "mapping_name"])]
        name_refs = (mapped["vendor"].str.lower() + "|name:"
                     + mapped["vendor_customer_name"].map(normalise_name))
        clash = mapped[customer_key(mapped).isin(ignored).to_numpy()
                       | name_refs.isin(ignored).to_numpy()]
        if len(clash):
            c = clash.iloc[0]
            who = c["vendor_customer_id"] or c["vendor_customer_name"]
            raise ConfigError(f"mappings/clients.csv and mappings/ignore.csv both list "
                              f"{c['vendor']} customer {who!r}: keep one")
    if products is None or product_map.empty:
        return
    keys = list(zip(product_map["vendor"], product_map["sku_key"], strict=True))
    used_p = product_map[[k in used_skus for k in keys]]
    unknown_p = used_p[~used_p["product_id"].isin(products)]
    if len(unknown_p):
        r = unknown_p.iloc[0]
        raise ConfigError(
            f"products.csv row {r['row']}: maps {r['vendor']} SKU {r['vendor_sku']!r} to product "
            f"{r['product_id']!r}, which neither the catalogue nor any agreement or invoice of "
            "the month knows; correct the product id")


def apply_product_map(rows: pd.DataFrame, product_map: pd.DataFrame) -> pd.DataFrame:
    """Attach ``product_id`` and ``units_per_product`` to vendor rows by (vendor, vendor_sku).

    Several SKUs may map to one product (their quantities add up); one SKU maps to one product
    at most (read_product_map refuses more). An unmapped SKU keeps product_id "" and 1 unit
    per product.
    """
    if len(rows) >= 5000:  # map the distinct (vendor, SKU) pairs; spread when none is a bundle
        codes, first = distinct_rows(rows[["vendor", "vendor_sku"]])
        pairs = _map_products(rows[["vendor", "vendor_sku"]].iloc[first], product_map)
        if len(pairs) == len(first):  # one row per pair: the merge is a lookup
            out = rows.reset_index(drop=True)
            for col in ("sku_key", "product_id", "units_per_product"):
                out[col] = pd.Series(pairs[col].to_numpy()[codes], dtype=pairs[col].dtype)
            return out
    return _map_products(rows, product_map)


def _map_products(rows: pd.DataFrame, product_map: pd.DataFrame) -> pd.DataFrame:
    keyed = rows.assign(_vendor=lower(rows["vendor"]), sku_key=lower(rows["vendor_sku"]))
    pm = product_map[["vendor", "sku_key", "product_id", "units_per_product"]].rename(
        columns={"vendor": "_vendor"}
    )
    out = keyed.merge(pm, on=["_vendor", "sku_key"], how="left", sort=False)
    out["product_id"] = out["product_id"].fillna("").astype(object)
    out["units_per_product"] = out["units_per_product"].where(
        out["units_per_product"].notna(), Decimal(1)
    )
    return out.drop(columns=["_vendor"])


