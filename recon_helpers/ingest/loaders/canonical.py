"""The canonical CSV/XLSX files of SPEC, one per role: the way in for any source without a loader.

Dates are ``YYYY-MM-DD``, decimal point ``.`` (``decimal_comma`` in recon.toml for the other
convention); more columns than the SPEC ones are allowed and ignored.
"""

from __future__ import annotations

import pandas as pd

from recon_helpers.core.schemas import QuarantineReason
from recon_helpers.ingest.loaders.amounts import credit_signs
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions, convert, quarantine_rows


def _f(name: str, kind, required: bool = False) -> Field:  # type: ignore[no-untyped-def]
    return Field(name, (name,), kind, required)


DELIVERED_FIELDS = (
    _f("vendor", "id", True),
    _f("vendor_customer_id", "id"),
    _f("vendor_customer_name", "text"),
    _f("vendor_sku", "id", True),
    _f("sku_name", "text"),
    _f("quantity", "quantity", True),
    _f("unit_cost", "money"),
    _f("currency", "id"),
    _f("charge_start", "date"),
    _f("charge_end", "date"),
    _f("client_link", "id"),
)
PROMISED_FIELDS = (
    _f("client_id", "id", True),
    _f("client_name", "text"),
    _f("agreement_id", "id"),
    _f("product_id", "id", True),
    _f("description", "text"),
    _f("quantity", "quantity", True),
    _f("less_included", "quantity"),
    _f("unit_price", "money"),
    _f("unit_cost", "money"),
    _f("currency", "id"),
    _f("effective_date", "date"),
    _f("cancelled_date", "date"),
    Field("billable", ("billable",), "bool", default="true"),
)
BILLED_FIELDS = (
    _f("client_id", "id", True),
    _f("invoice_number", "id"),
    _f("invoice_date", "date"),
    _f("product_id", "id", True),
    _f("description", "text"),
    _f("quantity", "quantity", True),
    _f("unit_price", "money"),
    _f("amount", "money"),
    _f("currency", "id"),
    _f("period_start", "date"),
    _f("period_end", "date"),
)
CLIENT_FIELDS = (_f("client_id", "id", True), _f("client_name", "text"))
# not a SPEC file, but the way to give list prices when the PSA export has no catalogue
CATALOGUE_FIELDS = (
    _f("product_id", "id", True),
    _f("description", "text"),
    _f("unit_price", "money"),
    _f("unit_cost", "money"),
    _f("currency", "id"),
)


# columns the canonical files may carry beyond SPEC's: a client id the source already knows,
# units included at no charge, and non-billable agreement lines
EXTENSION_COLUMNS = frozenset({"client_link", "less_included", "billable"})


def spec_header(fields: tuple[Field, ...]) -> tuple[str, ...]:
    """The SPEC header of a canonical file (its fields without the extension columns)."""
    return tuple(f.target for f in fields if f.target not in EXTENSION_COLUMNS)


def with_currency(frame: pd.DataFrame, options: LoadOptions) -> pd.DataFrame:
    """Upper-case currency codes; fill missing ones with the file's or workspace's currency."""
    cur = frame["currency"].astype(str).str.upper()
    frame["currency"] = cur.where(cur.ne(""), options.currency)
    return frame


def _parse_delivered(raw: RawTable, options: LoadOptions) -> Converted:
    out = convert(raw, DELIVERED_FIELDS, options)
    frame = out.frame
    frame["vendor"] = frame["vendor"].str.lower()
    nameless = frame["vendor_customer_id"].eq("") & frame["vendor_customer_name"].eq("")
    frame, q = quarantine_rows(
        frame, nameless, QuarantineReason.MISSING_VALUE,
        "vendor_customer_id and vendor_customer_name are both empty", "vendor_customer_id",
    )
    quarantine = pd.concat([out.quarantine, q], ignore_index=True)
    # a credit is a negative quantity at a non-negative cost, whichever sign the file negated
    frame["quantity"], frame["unit_cost"] = credit_signs(frame["quantity"], frame["unit_cost"])
    return Converted(with_currency(frame, options), quarantine)


def _parse_with(fields: tuple[Field, ...]):  # type: ignore[no-untyped-def]
    def parse(raw: RawTable, options: LoadOptions) -> Converted:
        out = convert(raw, fields, options)
        if "currency" in out.frame:
            out.frame = with_currency(out.frame, options)
        return out

    return parse


# columns a canonical file may leave out, so not part of what recognises it
_OPTIONAL_COLUMNS = ("client_link", "less_included", "billable")


def _signature(fields: tuple[Field, ...]) -> frozenset[str]:
    return frozenset(f.target for f in fields if f.target not in _OPTIONAL_COLUMNS)


FORMATS = (
    SourceFormat(
        "canonical_delivered", "delivered", _signature(DELIVERED_FIELDS), _parse_delivered,
        kinds=frozenset({"csv", "xlsx"}), description="SPEC canonical delivered (vendor usage) CSV",
    ),
    SourceFormat(
        "canonical_promised", "promised", _signature(PROMISED_FIELDS),
        _parse_with(PROMISED_FIELDS), kinds=frozenset({"csv", "xlsx"}),
        description="SPEC canonical promised (agreement lines) CSV",
    ),
    SourceFormat(
        "canonical_billed", "billed", _signature(BILLED_FIELDS), _parse_with(BILLED_FIELDS),
        kinds=frozenset({"csv", "xlsx"}), description="SPEC canonical billed (invoice lines) CSV",
    ),
    SourceFormat(
        "canonical_clients", "clients", _signature(CLIENT_FIELDS), _parse_with(CLIENT_FIELDS),
        kinds=frozenset({"csv", "xlsx"}), record_id="client_id",
        description="SPEC canonical clients CSV",
    ),
    SourceFormat(
        "canonical_catalogue", "catalogue", frozenset({"product_id", "description", "unit_price"}),
        _parse_with(CATALOGUE_FIELDS), kinds=frozenset({"csv", "xlsx"}), record_id="product_id",
        description="product catalogue with list prices (product_id, description, unit_price, ...)",
    ),
)
