"""Vendor customer -> PSA client and vendor SKU -> PSA product, with suggestions to confirm.

Order of precedence for a vendor customer (the first that answers wins):

1. ``mappings/clients.csv`` by ``(vendor, vendor_customer_id)``; rows without an id match by
   normalised name (the id wins when both are present);
2. a link the source already carries (Pax8 ``externalId``, Datto RMM ``autotaskCompanyId``)
   when it names a known client;
3. the normalised name equals exactly one client's normalised name (case, accents,
   punctuation and legal suffixes such as Inc/LLC/Ltd/GmbH/Pty ignored).

Everything else is unmapped and gets ranked fuzzy suggestions (rapidfuzz), which are never used
until :func:`confirm_client` writes them into the mapping file. Vendor names, customer IDs and
SKUs compare case-insensitively.

Example:
    >>> cmap = read_client_map(ws.clients_map)
    >>> mapped = map_customers(loaded.delivered, known_clients(loaded), cmap)
    >>> mapped.groupby("client_method").size()
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from recon_helpers.core.errors import ConfigError
from recon_helpers.core.files import atomic_write

CLIENT_MAP_COLUMNS = ("vendor", "vendor_customer_id", "vendor_customer_name", "client_id")
PRODUCT_MAP_COLUMNS = ("vendor", "vendor_sku", "product_id", "units_per_product")

LEGAL_SUFFIXES = frozenset(
    ["inc", "incorporated", "llc", "ltd", "limited", "gmbh", "pty", "plc", "corp", "corporation",
     "co", "company", "ag", "sa", "sarl", "bv", "nv", "srl", "spa", "llp", "lp", "pte", "pvt",
     "oy", "ab", "as", "aps", "kg", "ug", "mbh"]
)
_PUNCT = re.compile(r"[^\w\s]|_")
# Mapping files get opened in spreadsheets: a value that would run as a formula is written with
# Excel's leading apostrophe and read back without it (apostrophes already there gain one more)
_PROTECTED = re.compile(r"'+[=+\-@\t\r\n]")
_RISKY = re.compile(r"'*[=+\-@\t\r\n]")
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def _protect(value: str) -> str:
    risky = _RISKY.match(value) and not _PLAIN_NUMBER.fullmatch(value)
    return "'" + value if risky else value


def _unprotect(value: str) -> str:
    return value[1:] if _PROTECTED.match(value) else value


def normalise_name(name: str) -> str:
    """Comparable form of a company name: casefold, no accents or punctuation, no legal suffix.

    >>> normalise_name("Müller & Söhne GmbH.")
    'muller and sohne'
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _PUNCT.sub(" ", text.replace("&", " and ").replace("'", ""))
    words = text.split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def _read_map(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    # bytes, not read_text(): newline translation would turn a quoted "\r\n" into "\n"
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [r for r in rows if any(v.strip() for v in r)]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in columns[:3] if c not in header]
    if missing:
        raise ConfigError(f"{path.name}: header lacks {missing}; expected {','.join(columns)}")
    body = []
    for n, r in enumerate(rows[1:], start=1):
        if len(r) != len(header):
            raise ConfigError(f"{path.name}:{n}: {len(r)} fields, header has {len(header)}")
        body.append(dict(zip(header, (_unprotect(v.strip()) for v in r), strict=True)))
    frame = pd.DataFrame(body, columns=header, dtype=object).reindex(columns=list(columns))
    frame = frame.fillna("").astype(object)
    frame["row"] = range(1, len(frame) + 1)
    frame["vendor"] = frame["vendor"].str.lower()
    return frame


def read_client_map(path: Path) -> pd.DataFrame:
    """Read mappings/clients.csv (CLIENT_MAP_COLUMNS + ``row``); absent file = empty map.

    Raises:
        ConfigError: bad header, ragged row, a row without vendor or client_id, or a row with
            neither vendor_customer_id nor vendor_customer_name.
    """
    frame = _read_map(path, CLIENT_MAP_COLUMNS)
    for _, r in frame.iterrows():  # a mapping file is small and each bad row needs its own message
        if not r["vendor"] or not r["client_id"]:
            raise ConfigError(f"{path.name}:{r['row']}: vendor and client_id are required")
        if not r["vendor_customer_id"] and not r["vendor_customer_name"]:
            raise ConfigError(
                f"{path.name}:{r['row']}: give vendor_customer_id or vendor_customer_name"
            )
    return frame


def read_product_map(path: Path) -> pd.DataFrame:
    """Read mappings/products.csv (PRODUCT_MAP_COLUMNS + ``row``); ``units_per_product`` as Decimal.

    Raises:
        ConfigError: a missing field, a non-positive or non-numeric units_per_product, or the
            same (vendor, vendor_sku, product_id) twice.
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


def _customer_key(delivered: pd.DataFrame) -> pd.Series:
    ident = delivered["vendor_customer_id"].astype(str).str.lower()
    named = delivered["vendor_customer_name"].astype(str).map(normalise_name)
    return delivered["vendor"].str.lower() + "|" + ident.where(ident.ne(""), "name:" + named)


def customer_key(delivered: pd.DataFrame) -> pd.Series:
    """The identity of a vendor customer: vendor + id (or, without an id, + normalised name)."""
    cols = delivered[["vendor", "vendor_customer_id", "vendor_customer_name"]]
    return per_distinct(cols, _customer_key)


def lower(values: pd.Series) -> pd.Series:
    """``values.str.lower()``, computed once per distinct value."""
    return per_distinct(values.to_frame(), lambda f: f.iloc[:, 0].str.lower())


def map_customers(
    delivered: pd.DataFrame, clients: pd.DataFrame, client_map: pd.DataFrame
) -> pd.DataFrame:
    """Decide the client of every distinct vendor customer.

    Args:
        delivered: DELIVERED rows.
        clients: known_clients() output.
        client_map: read_client_map() output.

    Returns:
        DataFrame per vendor customer: vendor, vendor_customer_id, vendor_customer_name,
        client_link, cust_key, client_id ("" when unmapped), client_method (mapping_id,
        mapping_name, source_link, auto_name or "").
    """
    return assign_clients(customers_of(delivered), clients, client_map)


def assign_clients(
    cust: pd.DataFrame, clients: pd.DataFrame, client_map: pd.DataFrame
) -> pd.DataFrame:
    """:func:`map_customers` on the distinct vendor customers of :func:`customers_of` (which
    the DuckDB engine computes from its own tables)."""
    cust = cust.copy()
    cust["client_id"] = ""
    cust["client_method"] = ""
    cm = client_map.assign(id_key=client_map["vendor_customer_id"].str.lower())
    by_id = cm[cm["id_key"].ne("")]
    by_id = dict(zip(by_id["vendor"] + "|" + by_id["id_key"], by_id["client_id"], strict=True))
    by_name_rows = cm[cm["id_key"].eq("")]
    by_name = dict(
        zip(
            by_name_rows["vendor"] + "|" + by_name_rows["vendor_customer_name"].map(normalise_name),
            by_name_rows["client_id"],
            strict=True,
        )
    )
    vendor = cust["vendor"].str.lower()
    norm = cust["vendor_customer_name"].astype(str).map(normalise_name)
    id_hit = (vendor + "|" + cust["vendor_customer_id"].str.lower()).map(by_id)
    name_hit = (vendor + "|" + norm).map(by_name)
    known = set(clients["client_id"])
    link = cust["client_link"].astype(str)
    link_hit = link.where(link.isin(known) & link.ne(""))
    counts = clients["norm_name"].value_counts()
    unique_names = clients[clients["norm_name"].map(counts).eq(1) & clients["norm_name"].ne("")]
    by_norm = dict(zip(unique_names["norm_name"], unique_names["client_id"], strict=True))
    auto_hit = norm.map(by_norm)
    for hit, method in (
        (id_hit, "mapping_id"),
        (name_hit, "mapping_name"),
        (link_hit, "source_link"),
        (auto_hit, "auto_name"),
    ):
        take = cust["client_method"].eq("") & hit.notna()
        cust.loc[take, "client_id"] = hit[take]
        cust.loc[take, "client_method"] = method
    return cust


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


def _append_row(path: Path, header: tuple[str, ...], row: list[str]) -> None:
    """Append one CSV row atomically; existing bytes stay exactly as they were.

    Raises:
        WriteFailed: the file cannot be written (e.g. a full disk); it keeps its old content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_bytes() if path.exists() else b""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if not old.strip():
        old = b""
        writer.writerow(header)
    writer.writerow([_protect(v) for v in row])
    sep = b"" if not old or old.endswith(b"\n") else b"\n"
    data = old + sep + buf.getvalue().encode("utf-8")
    # temporary file + fsync + os.replace, keeping the file's mode (WriteFailed names the file)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def confirm_client(
    path: Path, vendor: str, vendor_customer_id: str, vendor_customer_name: str, client_id: str
) -> None:
    """Confirm a vendor customer -> client mapping by appending it to mappings/clients.csv.

    Raises:
        ConfigError: no client_id, or neither an id nor a name for the vendor customer.
    """
    if not client_id or not vendor or not (vendor_customer_id or vendor_customer_name):
        raise ConfigError("confirm_client needs vendor, a customer id or name, and client_id")
    _append_row(
        path,
        CLIENT_MAP_COLUMNS,
        [vendor.lower(), vendor_customer_id, vendor_customer_name, client_id],
    )


def confirm_product(
    path: Path, vendor: str, vendor_sku: str, product_id: str, units_per_product: str = "1"
) -> None:
    """Confirm a vendor SKU -> product mapping by appending it to mappings/products.csv.

    Raises:
        ConfigError: a missing field or a non-positive units_per_product.
    """
    try:
        ok = Decimal(units_per_product) > 0
    except InvalidOperation:
        ok = False
    if not (vendor and vendor_sku and product_id and ok):
        raise ConfigError("confirm_product needs vendor, vendor_sku, product_id, units > 0")
    row = [vendor.lower(), vendor_sku, product_id, units_per_product]
    _append_row(path, PRODUCT_MAP_COLUMNS, row)


def apply_product_map(rows: pd.DataFrame, product_map: pd.DataFrame) -> pd.DataFrame:
    """Attach ``product_id`` and ``units_per_product`` to vendor rows by (vendor, vendor_sku).

    A SKU mapped to several products (a bundle that implies two billed products) yields one
    row per product; an unmapped SKU keeps one row with product_id "" and 1 unit per product.
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
