"""Mapping changes: confirm a vendor customer or SKU, or ignore a vendor customer, and record it.

Every change appends one row to its mapping file atomically (the file's other bytes stay as
they were; a value that would run as a spreadsheet formula is protected) and one ``mapping``
entry to the ledger with who, when, the file, the row written and what the file said about
that vendor customer or SKU before, so a month's mapping history is auditable. A change that
would contradict the file (the vendor customer already mapped elsewhere, or both mapped and
ignored) is refused before anything is written.

This is what ``recon map --accept / --ignore`` and the mapping step of notebook 01 call.

Example:
    >>> confirm_client(ws, october, "microsoft", "9f3c...", "Northwind Traders Pty",
    ...                "NORTHWIN13", actor="Alice Martin")
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from recon_helpers.audit.ledger import Entry, Ledger
from recon_helpers.core.errors import ConfigError, UsageError
from recon_helpers.core.exports import protect_cell
from recon_helpers.core.files import atomic_write
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.mapping import (
    CLIENT_MAP_COLUMNS,
    IGNORE_COLUMNS,
    PRODUCT_MAP_COLUMNS,
    customer_ref,
    read_client_map,
    read_ignore_map,
    read_product_map,
)
from recon_helpers.reconcile.result import Reconciliation


def append_row(path: Path, header: tuple[str, ...], row: list[str]) -> None:
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
    writer.writerow([protect_cell(v) for v in row])
    sep = b"" if not old or old.endswith(b"\n") else b"\n"
    data = old + sep + buf.getvalue().encode("utf-8")
    # temporary file + fsync + os.replace, keeping the file's mode (WriteFailed names the file)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_client_mapping(path: Path, vendor: str, vendor_customer_id: str,
                         vendor_customer_name: str, client_id: str) -> None:
    """Append ``vendor customer -> client`` to mappings/clients.csv (no ledger entry).

    Raises:
        ConfigError: no client_id, or neither an id nor a name for the vendor customer.
    """
    if not client_id or not vendor or not (vendor_customer_id or vendor_customer_name):
        raise ConfigError("a client mapping needs vendor, a customer id or name, and client_id")
    append_row(path, CLIENT_MAP_COLUMNS,
               [vendor.lower(), vendor_customer_id, vendor_customer_name, client_id])


def write_product_mapping(path: Path, vendor: str, vendor_sku: str, product_id: str,
                          units_per_product: str = "1") -> None:
    """Append ``vendor SKU -> product`` to mappings/products.csv (no ledger entry).

    Raises:
        ConfigError: a missing field or a non-positive units_per_product.
    """
    try:
        ok = Decimal(units_per_product) > 0
    except InvalidOperation:
        ok = False
    if not (vendor and vendor_sku and product_id and ok):
        raise ConfigError("a product mapping needs vendor, vendor_sku, product_id, units > 0")
    append_row(path, PRODUCT_MAP_COLUMNS, [vendor.lower(), vendor_sku, product_id,
                                           units_per_product])


def _rows_naming(frame: pd.DataFrame, vendor: str, ident: str, name: str) -> pd.DataFrame:
    if frame.empty:
        return frame
    probe = pd.DataFrame({"vendor": [vendor.lower()], "vendor_customer_id": [ident],
                          "vendor_customer_name": [name]})
    refs = customer_ref(frame)
    mine = {customer_ref(probe).iloc[0],
            customer_ref(probe.assign(vendor_customer_id="")).iloc[0]}
    return frame[refs.isin(mine).to_numpy()]


def _record(workspace: Workspace, period: Period, key: str, actor: str,
            payload: dict[str, object], path: Path, write) -> Entry:  # type: ignore[no-untyped-def]
    """Write the row, then the ledger entry; if the entry cannot be written, put the file back
    as it was, so a mapping never changes without its record."""
    before = path.read_bytes() if path.exists() else None
    write()
    try:
        with Ledger(workspace.ledger_path) as ledger:
            return ledger.append("mapping", period, key, payload, actor)
    except BaseException:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, lambda tmp: tmp.write_bytes(before))
        raise


def confirm_client(workspace: Workspace, period: Period, vendor: str,
                   vendor_customer_id: str, vendor_customer_name: str, client_id: str,
                   actor: str) -> Entry | None:
    """Map a vendor customer to a client: append to clients.csv and record it in the ledger.

    Returns:
        The ledger entry; None when clients.csv already maps it to that client.

    Raises:
        ConfigError: it is mapped to another client, or listed in ignore.csv.
        LedgerError: no actor, or the ledger cannot be written (the file is left as it was).
    """
    existing = _rows_naming(read_client_map(workspace.clients_map), vendor,
                            vendor_customer_id, vendor_customer_name)
    if len(existing):
        row = existing.iloc[0]
        if row["client_id"] == client_id:
            return None
        raise ConfigError(f"clients.csv:{row['row']} already maps {vendor} customer "
                          f"{vendor_customer_id or vendor_customer_name!r} to "
                          f"{row['client_id']!r}; correct that row instead")
    ignored = _rows_naming(read_ignore_map(workspace.ignore_map), vendor,
                           vendor_customer_id, vendor_customer_name)
    if len(ignored):
        raise ConfigError(f"ignore.csv:{ignored.iloc[0]['row']} ignores {vendor} customer "
                          f"{vendor_customer_id or vendor_customer_name!r}; remove that row "
                          "first")
    row = [vendor.lower(), vendor_customer_id, vendor_customer_name, client_id]
    payload = {"file": "clients.csv", "change": "map",
               "row": dict(zip(CLIENT_MAP_COLUMNS, row, strict=True)), "before": None}
    key = f"mapping:{vendor.lower()}:{vendor_customer_id or vendor_customer_name}"
    return _record(workspace, period, key, actor, payload, workspace.clients_map,
                   lambda: write_client_mapping(workspace.clients_map, *row))


def confirm_product(workspace: Workspace, period: Period, vendor: str, vendor_sku: str,
                    product_id: str, actor: str, units_per_product: str = "1") -> Entry | None:
    """Map a vendor SKU to a product: append to products.csv and record it in the ledger.

    Returns:
        The ledger entry; None when products.csv already maps it to that product.

    Raises:
        ConfigError: the SKU is mapped to another product.
        LedgerError: no actor, or the ledger cannot be written (the file is left as it was).
    """
    pm = read_product_map(workspace.products_map)
    same = pm[pm["vendor"].eq(vendor.lower()) & pm["sku_key"].eq(vendor_sku.lower())]
    if len(same):
        row = same.iloc[0]
        if row["product_id"] == product_id:
            return None
        raise ConfigError(f"products.csv:{row['row']} already maps {vendor} SKU "
                          f"{vendor_sku!r} to {row['product_id']!r}; correct that row instead")
    row = [vendor.lower(), vendor_sku, product_id, units_per_product]
    payload = {"file": "products.csv", "change": "map",
               "row": dict(zip(PRODUCT_MAP_COLUMNS, row, strict=True)), "before": None}
    return _record(workspace, period, f"mapping:{vendor.lower()}:sku:{vendor_sku}", actor,
                   payload, workspace.products_map,
                   lambda: write_product_mapping(workspace.products_map, *row))


def ignore_customer(workspace: Workspace, period: Period, vendor: str,
                    vendor_customer_id: str, vendor_customer_name: str, reason: str,
                    actor: str) -> Entry | None:
    """List a vendor customer in ignore.csv (not billed: internal, trial, demo) and record it.

    Returns:
        The ledger entry; None when it is ignored already.

    Raises:
        ConfigError: no reason, or the vendor customer is mapped to a client in clients.csv.
        LedgerError: no actor, or the ledger cannot be written (the file is left as it was).
    """
    if not reason.strip():
        raise ConfigError("ignoring a vendor customer needs a reason (e.g. 'internal tenant')")
    path = workspace.ignore_map
    if len(_rows_naming(read_ignore_map(path), vendor, vendor_customer_id,
                        vendor_customer_name)):
        return None
    mapped = _rows_naming(read_client_map(workspace.clients_map), vendor, vendor_customer_id,
                          vendor_customer_name)
    if len(mapped):
        raise ConfigError(f"clients.csv:{mapped.iloc[0]['row']} maps {vendor} customer "
                          f"{vendor_customer_id or vendor_customer_name!r} to "
                          f"{mapped.iloc[0]['client_id']!r}; remove that row first")
    row = [vendor.lower(), vendor_customer_id, vendor_customer_name, reason.strip()]
    payload = {"file": "ignore.csv", "change": "ignore",
               "row": dict(zip(IGNORE_COLUMNS, row, strict=True)), "before": None}
    key = f"mapping:{vendor.lower()}:{vendor_customer_id or vendor_customer_name}"
    return _record(workspace, period, key, actor, payload, path,
                   lambda: append_row(path, IGNORE_COLUMNS, row))


def parse_pair(text: str, flag: str = "--accept") -> tuple[str, str, str]:
    """``VENDOR:ID=TARGET`` -> (vendor, id, target).

    Raises:
        UsageError: not of that form.
    """
    head, sep, target = text.rpartition("=")
    vendor, colon, ident = head.partition(":")
    if not (sep and colon and vendor.strip() and ident.strip() and target.strip()):
        raise UsageError(f"{flag} {text!r}: give VENDOR:ID=CLIENT (or VENDOR:SKU=PRODUCT), "
                         "e.g. microsoft:9f3c2a71-...=NORTHWIN13")
    return vendor.strip().lower(), ident.strip(), target.strip()


def month_customer(rec: Reconciliation, vendor: str, ident: str) -> pd.DataFrame:
    """The month's vendor customers ``ident`` names: by id, or by name when it has none."""
    cust = rec.customers
    return cust[cust["vendor"].str.lower().eq(vendor)
                & (cust["vendor_customer_id"].astype(str).str.lower().eq(ident.lower())
                   | (cust["vendor_customer_id"].eq("")
                      & cust["vendor_customer_name"].eq(ident)))]


def ignore(workspace: Workspace, rec: Reconciliation, vendor: str, ident: str, reason: str,
           actor: str) -> Entry | None:
    """List ``vendor:ident`` (an id, or a name when the customer has none) in ignore.csv.

    Raises:
        UsageError: no such vendor customer in the month.
        ConfigError: no reason, or clients.csv maps it.
    """
    mine = month_customer(rec, vendor, ident)
    if mine.empty:
        raise UsageError(f"--ignore {vendor}:{ident}: no {vendor} customer {ident!r} in "
                         f"{rec.period}")
    row = mine.iloc[0]
    cid = str(row["vendor_customer_id"])
    return ignore_customer(workspace, rec.period, vendor, cid,
                           "" if cid else str(row["vendor_customer_name"]), reason, actor)


def accept(workspace: Workspace, rec: Reconciliation, vendor: str, ident: str, target: str,
           actor: str) -> tuple[str, Entry | None]:
    """Confirm ``vendor:ident`` -> ``target``: a vendor customer to a client, or a vendor SKU to
    a product, whichever ``ident`` is in the month (a customer by id, or by name when it has
    none; else an unmapped SKU; else the kind of ``target``).

    Returns:
        ("client" | "product", the ledger entry or None when already so mapped).

    Raises:
        UsageError: ``target`` is no client (or product) of the month.
        ConfigError: it contradicts the mapping files.
    """
    mine = month_customer(rec, vendor, ident)
    clients = set(rec.clients["client_id"])
    products = set(rec.three_way["product_id"]) | set(rec.loaded.catalogue["product_id"])
    skus = rec.findings.loc[rec.findings["kind"].eq("unmapped_product"), "vendor_sku"]
    is_sku = mine.empty and (ident.lower() in set(skus.str.lower()) or (target in products
                             and target not in clients))
    if not is_sku:
        if target not in clients:
            raise UsageError(f"--accept {vendor}:{ident}={target}: no client {target!r} in "
                             f"{rec.period}")
        row = mine.iloc[0] if len(mine) else None
        name = str(row["vendor_customer_name"]) if row is not None else ""
        cid = str(row["vendor_customer_id"]) if row is not None else ident
        return "client", confirm_client(workspace, rec.period, vendor, cid,
                                        "" if cid else name, target, actor)
    if target not in products:
        raise UsageError(f"--accept {vendor}:{ident}={target}: no product {target!r} in "
                         f"{rec.period} (catalogue, agreements or invoices)")
    return "product", confirm_product(workspace, rec.period, vendor, ident, target, actor)


def confident_suggestions(rec: Reconciliation, min_score: int) -> pd.DataFrame:
    """Unmapped vendor customers whose best suggestion scores at least ``min_score`` and is
    the only one with that score (vendor, vendor_customer_id, vendor_customer_name,
    client_id, client_name, score)."""
    s = rec.client_suggestions
    if s.empty:
        return s
    keys = ["vendor", "vendor_customer_id", "vendor_customer_name"]
    top = s.sort_values([*keys, "rank"]).groupby(keys, sort=False)
    rows = []
    for _, grp in top:
        best = grp.iloc[0]
        tied = len(grp) > 1 and grp.iloc[1]["score"] == best["score"]
        if best["score"] >= min_score and not tied:
            rows.append(best)
    return pd.DataFrame(rows, columns=s.columns).reset_index(drop=True)
