"""ConnectWise PSA (Manage) REST exports: companies, agreements, additions, invoices, products.

Each file is a JSON array as the REST API returns it (``/company/companies``,
``/finance/agreements``, ``/finance/agreements/{id}/additions``, ``/finance/invoices``,
``/procurement/products``, ``/procurement/catalog``); nested references such as
``company {id, identifier, name, _info}`` arrive flattened to dotted columns.

Additions carry no company: the LINKER joins ``agreementId`` to the agreement to reach
``company.identifier`` (the SPEC client key). Invoices are headers without product lines; the
per-product lines are procurement products (``ProductItem``) pointing at their invoice through
``invoice {id, identifier}``, so the linker joins them to the invoice header for client, date,
currency and type.

Decisions (see also the module functions):
    * ``billable`` is ``billCustomer == "Billable"`` (``DoNotBill`` and ``NoCharge`` are not).
    * A line stops at the earliest of the addition's ``cancelledDate`` and the agreement's
      ``dateCancelled`` / ``endDate`` (all inclusive).
    * Invoice line amount = ``extPrice`` when the product carries it, else
      quantity x price rounded half away from zero to MONEY_SCALE (:func:`mul_div_round`).
    * CreditMemo lines are credits: quantity and amount stored negative whatever sign the
      source uses (ConnectWise's own convention is unverified); unit price stays positive.
    * ``NoCharge`` products are billed at 0 (what the client was charged); ``DoNotBill`` ones
      and products not yet on an invoice are quarantined as ``not_billable_line``.
    * CW invoices carry no service period: ``period_start`` / ``period_end`` stay empty and
      the invoice month is ``invoice_date``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd

from recon_helpers.core.schemas import (
    BILLED,
    CATALOGUE,
    CLIENTS,
    PROMISED,
    QTY_SCALE,
    QuarantineReason,
    conform_quarantine,
    empty_quarantine,
)
from recon_helpers.ingest.loaders.base import Linker, LinkResult, SourceFormat
from recon_helpers.ingest.loaders.linking import (
    client_of,
    concat_quarantine,
    identify_through,
    join_referenced,
    psa_parser,
    quarantine_where,
    reference_table,
)
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions, convert

FAMILY = "connectwise"
AGREEMENTS = "connectwise.agreements"
ADDITIONS = "connectwise.additions"
INVOICES = "connectwise.invoices"
INVOICE_PRODUCTS = "connectwise.invoice_products"

# CurrencyReference spells the ISO code currencyCode; older payloads (django-connectwise) isoCode
_CURRENCY = ("currency.currencyCode", "currency.isoCode", "currency.currencyIdentifier")

COMPANY_FIELDS = (
    Field("client_id", ("identifier",), "id", required=True),
    Field("client_name", ("name",), "text"),
)
CATALOG_FIELDS = (
    Field("product_id", ("identifier",), "id", required=True),
    Field("description", ("description",), "text"),
    Field("unit_price", ("price",), "money"),
    Field("unit_cost", ("cost",), "money"),
)
AGREEMENT_FIELDS = (
    Field("agreement_id", ("id",), "id", required=True),
    Field("agreement_name", ("name",), "text"),
    Field("company_id", ("company.id",), "id"),
    Field("client_id", ("company.identifier",), "id", required=True),
    Field("client_name", ("company.name",), "text"),
    Field("agreement_status", ("agreementStatus",), "text"),
    Field("start_date", ("startDate",), "date"),
    Field("end_date", ("endDate",), "date"),
    Field("cancelled_flag", ("cancelledFlag",), "bool"),
    Field("date_cancelled", ("dateCancelled",), "date"),
    Field("currency", _CURRENCY, "id"),
)
ADDITION_FIELDS = (
    Field("addition_id", ("id",), "id", required=True),
    Field("agreement_id", ("agreementId",), "id", required=True),
    Field("product_id", ("product.identifier",), "id", required=True),
    Field("description", ("description",), "text"),
    Field("invoice_description", ("invoiceDescription",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("less_included", ("lessIncluded",), "quantity"),
    Field("unit_price", ("unitPrice",), "money"),
    Field("unit_cost", ("unitCost",), "money"),
    Field("bill_customer", ("billCustomer",), "text", required=True),
    Field("effective_date", ("effectiveDate",), "date"),
    Field("cancelled_date", ("cancelledDate",), "date"),
    Field("agreement_status", ("agreementStatus",), "text"),
    Field("catalog_item_id", ("product.id",), "id"),
    Field("last_updated", ("_info.lastUpdated",), "text"),
)
INVOICE_FIELDS = (
    Field("invoice_id", ("id",), "id", required=True),
    Field("invoice_number", ("invoiceNumber",), "id", required=True),
    Field("invoice_type", ("type",), "text"),
    Field("client_id", ("company.identifier",), "id", required=True),
    Field("client_name", ("company.name",), "text"),
    Field("invoice_date", ("date",), "date"),
    Field("agreement_id", ("agreement.id",), "id"),
    Field("status", ("status.name",), "text"),
    Field("total", ("total",), "money"),
    Field("currency", _CURRENCY, "id"),
)
PRODUCT_FIELDS = (
    Field("product_item_id", ("id",), "id", required=True),
    Field("product_id", ("catalogItem.identifier",), "id", required=True),
    Field("description", ("description",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("unit_price", ("price",), "money"),
    Field("unit_cost", ("cost",), "money"),
    Field("ext_price", ("extPrice",), "money"),
    Field("billable_option", ("billableOption",), "text"),
    Field("invoice_id", ("invoice.id",), "id"),
    Field("invoice_ref", ("invoice.identifier",), "id"),
    Field("company_identifier", ("company.identifier",), "id"),
    Field("agreement_id", ("agreement.id",), "id"),
)


def mul_div_round(a: pd.Series, b: pd.Series | int, d: pd.Series | int) -> pd.Series:
    """Exact ``a * b / d`` on fixed-point integers, rounded half away from zero.

    Python integers do the arithmetic (no int64 overflow on large quantity x price products).
    Returns ``<NA>`` where an input is missing or ``d`` is 0.

    Example:
        >>> mul_div_round(pd.Series([25_000], dtype="Int64"), 2_375_000, QTY_SCALE).tolist()
        [5937500]
    """
    idx = a.index
    bs = b if isinstance(b, pd.Series) else pd.Series(b, index=idx, dtype="Int64")
    ds = d if isinstance(d, pd.Series) else pd.Series(d, index=idx, dtype="Int64")
    out = pd.Series(pd.NA, index=idx, dtype="Int64")
    ok = (a.notna() & bs.notna() & ds.notna() & ds.ne(0)).fillna(False).to_numpy(dtype=bool)
    if ok.any():
        x, y, z = (s[ok].astype("int64").to_numpy().astype(object) for s in (a, bs, ds))
        n = x * y
        neg = (n < 0).astype(bool) != (z < 0).astype(bool)
        az = np.abs(z)
        q = (np.abs(n) * 2 + az) // (az * 2)
        out[ok] = np.where(neg, -q, q).astype("int64")
    return out


# the marker lets the linker pick its own PSA's clients / catalogue out of the shared tables
_parse = partial(psa_parser, family=FAMILY)


def _parse_additions(raw: RawTable, options: LoadOptions) -> Converted:
    out = convert(raw, ADDITION_FIELDS, options)
    frame = out.frame
    frame["less_included"] = frame["less_included"].fillna(0).astype("int64")
    # the printed description when the catalogue one is empty
    frame["description"] = frame["description"].where(
        frame["description"].ne(""), frame["invoice_description"]
    )
    return out


def _link_promised(
    entities: Mapping[str, pd.DataFrame], options: LoadOptions
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """Additions joined to their agreement: (promised rows, kept additions, quarantine)."""
    additions = entities.get(ADDITIONS)
    if additions is None or additions.empty:
        return PROMISED.empty(), additions, empty_quarantine()
    agreements = reference_table(
        entities.get(AGREEMENTS), "agreement_id",
        ["agreement_id", "client_id", "client_name", "start_date", "end_date", "date_cancelled",
         "currency"],
    )
    joined, kept, q = join_referenced(
        additions, agreements.rename(columns={"currency": "agreement_currency"}), "agreement_id",
        "agreementId {value} matches no usable row of the loaded ConnectWise agreements",
    )
    # a line is not live past its agreement: earliest of the three end dates (inclusive)
    stops = joined[["cancelled_date", "date_cancelled", "end_date"]]
    joined["cancelled_date"] = stops.min(axis=1, skipna=True)
    joined["effective_date"] = joined["effective_date"].fillna(joined["start_date"])
    joined["billable"] = joined["bill_customer"].str.strip().str.lower().eq("billable")
    cur = joined["agreement_currency"].fillna("").astype(str)
    joined["currency"] = cur.where(cur.ne(""), options.currency)
    # the ids recon apply writes back to (schemas.PROMISED)
    joined["psa"] = FAMILY
    joined["psa_agreement_id"] = joined["agreement_id"]
    joined["psa_line_id"] = joined["addition_id"]
    joined["psa_service_id"] = joined["catalog_item_id"]
    joined["psa_version"] = joined["last_updated"]
    return PROMISED.conform(joined), kept, q


def _link_billed(
    entities: Mapping[str, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """Procurement products joined to their invoice header: (billed, kept products, quarantine)."""
    products = entities.get(INVOICE_PRODUCTS)
    if products is None or products.empty:
        return BILLED.empty(), products, empty_quarantine()
    invoices = reference_table(
        entities.get(INVOICES), "invoice_id",
        ["invoice_id", "invoice_number", "invoice_type", "client_id", "invoice_date", "currency"],
    )
    option = products["billable_option"].str.strip().str.lower()
    kept, q1 = quarantine_where(
        products, option.eq("donotbill"), QuarantineReason.NOT_BILLABLE_LINE, "billable_option",
        "billableOption DoNotBill: the product is not printed on any invoice",
    )
    no_invoice = kept["invoice_id"].eq("") & kept["invoice_ref"].eq("")
    kept, q2 = quarantine_where(
        kept, no_invoice, QuarantineReason.NOT_BILLABLE_LINE, "invoice_id",
        "product is not on an invoice yet (invoice is empty)",
    )
    # invoice.id is the join key; invoice.identifier (the invoice number) when the id is absent
    by_number = invoices.drop_duplicates("invoice_number").set_index("invoice_number")["invoice_id"]
    known = kept["invoice_id"].isin(invoices["invoice_id"])
    resolved = kept["invoice_id"].where(known, kept["invoice_ref"].map(by_number))
    kept["_invoice"] = resolved.fillna("").astype(object)
    kept["_shown"] = kept["invoice_ref"].where(kept["invoice_ref"].ne(""), kept["invoice_id"])
    # not join_referenced: the key is resolved from two columns, and the message shows either
    kept, q3 = quarantine_where(
        kept, kept["_invoice"].eq(""), QuarantineReason.UNKNOWN_REFERENCE, "_shown",
        "invoice {value} matches no usable row of the loaded ConnectWise invoices",
    )
    q3["column"] = "invoice"
    joined = kept.drop(columns=["invoice_id"]).merge(
        invoices.rename(columns={"invoice_id": "_invoice"}),
        on="_invoice", how="left", validate="many_to_one",
    )
    computed = mul_div_round(joined["quantity"], joined["unit_price"], QTY_SCALE)
    amount = joined["ext_price"].fillna(computed)
    no_charge = joined["billable_option"].str.strip().str.lower().eq("nocharge")
    joined["unit_price"] = joined["unit_price"].mask(no_charge, 0)
    amount = amount.mask(no_charge, 0)
    credit = joined["invoice_type"].str.strip().str.lower().eq("creditmemo")
    qty = joined["quantity"].astype("int64")
    joined["quantity"] = qty.where(~credit, -qty.abs())
    joined["amount"] = amount.where(~credit, -amount.abs())
    billed = BILLED.conform(joined)
    kept = kept.drop(columns=["_invoice", "_shown"])
    return billed, kept, concat_quarantine(q1, q2, q3)


def link(entities: Mapping[str, pd.DataFrame], options: LoadOptions) -> LinkResult:
    """Build PROMISED rows from additions and BILLED rows from invoiced products.

    Returns:
        LinkResult with ``promised``, ``billed`` and the additions / products frames without
        the rows quarantined (unknown agreement or invoice, not billable, not invoiced).
    """
    promised, additions, q_add = _link_promised(entities, options)
    billed, products, q_prod = _link_billed(entities)
    tables: dict[str, pd.DataFrame] = {"promised": promised, "billed": billed}
    if additions is not None:
        tables[ADDITIONS] = additions
    if products is not None:
        tables[INVOICE_PRODUCTS] = products
    # empty parts too (unlike concat_quarantine): an empty part turns the text columns to
    # object dtype, which is what this linker has always returned
    quarantine = conform_quarantine(pd.concat([q_add, q_prod], ignore_index=True))
    return LinkResult(tables, quarantine)


_JSON = frozenset({"json"})

FORMATS: tuple[SourceFormat, ...] = (
    SourceFormat(
        "connectwise_companies", CLIENTS.name, frozenset({"id", "identifier", "name"}),
        _parse(COMPANY_FIELDS, psa_marker=True), kinds=_JSON, container="", record_id="id",
        excludes=frozenset({"price"}),  # catalog-like records that carry a name
        description="ConnectWise /company/companies (client_id = identifier)",
    ),
    SourceFormat(
        "connectwise_catalog", CATALOGUE.name,
        frozenset({"id", "identifier", "description", "price", "cost"}),
        _parse(CATALOG_FIELDS, psa_marker=True, currency=True), kinds=_JSON, container="",
        record_id="id", description="ConnectWise /procurement/catalog items",
    ),
    SourceFormat(
        "connectwise_agreements", AGREEMENTS,
        frozenset({"id", "name", "company.identifier", "agreementStatus"}),
        _parse(AGREEMENT_FIELDS, currency=True), kinds=_JSON, container="", record_id="id",
        excludes=frozenset({"agreementId", "invoiceNumber"}),
        description="ConnectWise /finance/agreements",
    ),
    SourceFormat(
        "connectwise_additions", ADDITIONS,
        frozenset({"id", "agreementId", "product.identifier", "billCustomer"}),
        _parse_additions, kinds=_JSON, container="", record_id="id",
        description="ConnectWise /finance/agreements/{id}/additions",
    ),
    SourceFormat(
        "connectwise_invoices", INVOICES,
        frozenset({"id", "invoiceNumber", "type", "company.identifier", "date"}),
        _parse(INVOICE_FIELDS, currency=True), kinds=_JSON, container="", record_id="id",
        description="ConnectWise /finance/invoices (headers)",
    ),
    SourceFormat(
        "connectwise_invoice_products", INVOICE_PRODUCTS,
        frozenset({"id", "catalogItem.identifier", "billableOption", "quantity", "price"}),
        _parse(PRODUCT_FIELDS), kinds=_JSON, container="", record_id="id",
        description="ConnectWise /procurement/products (invoice lines per product)",
    ),
)

def identify(quarantine: pd.DataFrame, raws: Mapping[str, Sequence[RawTable]],
             entities: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Client and product of quarantined ConnectWise rows: an addition reaches its company
    through its agreement, an invoice product names its company (else its invoice's)."""
    agreements = client_of(entities.get(AGREEMENTS), "agreement_id")
    q = identify_through(quarantine, raws.get(ADDITIONS, ()), ("agreementId",), agreements,
                         ("product.identifier",))
    invoices = client_of(entities.get(INVOICES), "invoice_id")
    return identify_through(q, raws.get(INVOICE_PRODUCTS, ()), ("invoice.id",), invoices,
                            ("catalogItem.identifier",), client=("company.identifier",))


LINKER = Linker(
    FAMILY, frozenset({AGREEMENTS, ADDITIONS, INVOICES, INVOICE_PRODUCTS}), link, identify
)
