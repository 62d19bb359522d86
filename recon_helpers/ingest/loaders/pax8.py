"""Pax8 partner exports: invoice items and subscriptions (delivered), companies (for names).

Each arrives as saved from the partner API (``{"content": [...], "page": {...}}``) or as a
CSV/XLSX with the API's field names (FORMATS.md section 2; Pax8 publishes no portal CSV
header, so the API names are the contract).

Keys (SPEC): vendor ``pax8``, customer ``companyId`` / ``companyName`` (subscriptions: the
company's ``name`` from a companies file), SKU ``productId``; ``externalId`` is the company's
PSA client id and becomes ``client_link``.

Invoice items (``pax8_invoice_items``):

* quantity ``quantity``, unit_cost ``cost`` (the partner's unit cost; ``price`` is the
  customer price, not a cost). Credits: the line's ``costTotal`` (else ``subTotal``) decides,
  else a negative quantity or cost; a credit is stored as a negative quantity at a positive
  cost, whichever of quantity, price and cost Pax8 wrote negative
  (``amounts.credit_signs``), so a credit never adds cost or seats.
* charge_start ``startPeriod``; charge_end ``endPeriod`` made inclusive: Pax8 writes some
  spans exclusively (``2019-04-01`` -> ``2019-05-01``) and others inclusively
  (``2025-02-01`` -> ``2025-02-28``). An end after the start that falls on the 1st of a month
  or on the start's day of the month (a whole number of months) is exclusive and loses one
  day. Pax8 bills calendar months, so an inclusive span ends on a month's last day.
* dates are read as written (``iso``): ``2020-12-01T13:20:13.153-0700`` is 1 December.
* charge_type ``type``. Only ``subscription``, ``prorate`` and ``one-time`` lines are services
  with a quantity. ``payment-credit``, ``invoice-credit``, ``service-credit``,
  ``service-charge`` and ``rebate`` (and any type Pax8 adds later) move money without
  delivering seats: they are quarantined as ``not_billable_line`` naming the type, so the
  auditor still sees them.

Subscriptions (``pax8_subscriptions``): beside invoice items in one month they only
corroborate them (``defers_to``: the invoice items count, the subscriptions' rows go to an
auxiliary table and their disagreements are reported, see ingest/duplicates.py); alone they
are the delivered rows. Quantity ``quantity``, unit_cost ``partnerCost``,
charge_start ``startDate`` (else ``billingStart``), charge_end ``endDate`` as written,
charge_type the subscription ``status``. A ``Cancelled`` subscription with an ``endDate``
keeps its row (the end date ends the charge); without one it cannot be placed in time and is
quarantined as ``not_billable_line`` ("cancelled subscription without endDate"). Other
statuses (``PendingCancel``, ``Trial``, ...) are kept; the status is in ``charge_type``.

Companies (``pax8_companies``, entity ``pax8.companies``: ``company_id``, ``company_name``,
``external_id``, ``status``): the :data:`LINKER` fills ``vendor_customer_name`` and
``client_link`` of pax8 delivered rows that lack them, matching ``companyId`` case-insensitively.

Example:
    >>> loaded = load_period(Workspace.open("data"), "2026-10")  # subscriptions + companies
    >>> loaded.delivered.query("vendor == 'pax8'")[["vendor_customer_name", "client_link"]]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pandas as pd

from recon_helpers.core.schemas import QuarantineReason, conform_quarantine, empty_quarantine
from recon_helpers.ingest.loaders.amounts import credit_signs
from recon_helpers.ingest.loaders.base import Linker, LinkResult, SourceFormat
from recon_helpers.ingest.loaders.canonical import with_currency
from recon_helpers.ingest.loaders.microsoft_nce import delivered_frame
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import (
    Converted,
    Field,
    LoadOptions,
    convert,
    quarantine_rows,
    tag_quarantine,
)

VENDOR = "pax8"
COMPANIES = "pax8.companies"
SERVICE_TYPES = frozenset({"subscription", "prorate", "one-time"})

ITEM_FIELDS = (
    Field("vendor_customer_id", ("companyId",), "id", required=True),
    Field("vendor_customer_name", ("companyName",), "text"),
    Field("client_link", ("externalId",), "id"),
    Field("vendor_sku", ("productId",), "id", required=True),
    Field("sku_name", ("productName",), "text"),
    Field("description", ("description",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("unit_cost", ("cost",), "money"),
    Field("cost_total", ("costTotal",), "money"),
    Field("sub_total", ("subTotal",), "money"),
    Field("currency", ("currencyCode",), "id"),
    Field("charge_type", ("type",), "text"),
    Field("charge_start", ("startPeriod",), "date"),
    Field("charge_end", ("endPeriod",), "date"),
)
SUBSCRIPTION_FIELDS = (
    Field("vendor_customer_id", ("companyId",), "id", required=True),
    Field("vendor_sku", ("productId",), "id", required=True),
    Field("sku_name", ("productName",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("unit_cost", ("partnerCost",), "money"),
    Field("currency", ("currencyCode",), "id"),
    Field("start_date", ("startDate",), "date"),
    Field("billing_start", ("billingStart",), "date"),
    Field("charge_end", ("endDate",), "date"),
    Field("charge_type", ("status",), "text"),
)
COMPANY_FIELDS = (
    Field("company_id", ("id",), "id", required=True),
    Field("company_name", ("name",), "text"),
    Field("external_id", ("externalId",), "id"),
    Field("status", ("status",), "text"),
)


def _item_type(raw: RawTable) -> pd.Series:
    """Normalised item type per row (``Payment Credit`` -> ``payment-credit``)."""
    col = raw.column("type")
    if col is None:
        return pd.Series("subscription", index=raw.data.index)
    text = raw.data[col].astype(str).str.strip().str.lower()
    return text.str.replace(r"[\s_]+", "-", regex=True)


def split_money_lines(raw: RawTable) -> tuple[RawTable, pd.DataFrame]:
    """Set aside invoice items that are not services with a quantity.

    Returns:
        (RawTable of the service lines, quarantine rows of the others: ``not_billable_line``
        naming the type, or ``missing_value`` when the type is empty)
    """
    kind = _item_type(raw)
    untyped = kind.eq("")
    money = ~kind.isin(SERVICE_TYPES) & ~untyped
    gone = money | untyped
    if not gone.any():
        return raw, empty_quarantine()
    written = raw.data[raw.column("type")].astype(str)
    reason = pd.Series(QuarantineReason.NOT_BILLABLE_LINE.value, index=kind.index)
    reason[untyped] = QuarantineReason.MISSING_VALUE.value
    detail = "Pax8 invoice item of type '" + written + "' moves money, it delivers no service"
    detail[untyped] = "type is required but empty"
    q = pd.DataFrame(
        {
            "file": raw.name,
            "row": raw.rows[gone.to_numpy()].to_numpy(),
            "reason": reason[gone].to_numpy(),
            "column": "charge_type",
            "value": written[gone].to_numpy(),
            "detail": detail[gone].to_numpy(),
            "vendor": VENDOR,
            "vendor_customer": _raw_values(raw, gone, "companyId"),
            "vendor_sku": _raw_values(raw, gone, "productId"),
        }
    )
    q = conform_quarantine(q)
    keep = ~gone
    kept = replace(
        raw,
        data=raw.data[keep].reset_index(drop=True),
        rows=raw.rows[keep.to_numpy()].reset_index(drop=True),
    )
    return kept, q


def _raw_values(raw: RawTable, mask: pd.Series, column: str) -> object:
    col = raw.column(column)
    return raw.data.loc[mask, col].astype(str).str.strip().to_numpy() if col else ""


def inclusive_end(start: pd.Series, end: pd.Series) -> pd.Series:
    """Make exclusive-looking period ends inclusive (see the module docstring).

    Args:
        start: period starts (datetime64, NaT allowed).
        end: period ends as written (datetime64, NaT allowed).

    Returns:
        ``end``, one day earlier where it is after ``start`` and on the 1st of a month or on
        the start's day of the month.
    """
    later = end.notna() & start.notna() & end.gt(start)
    exclusive = later & (end.dt.day.eq(1) | end.dt.day.eq(start.dt.day))
    return end.where(~exclusive, end - pd.Timedelta(days=1))


def parse_invoice_items(raw: RawTable, options: LoadOptions) -> Converted:
    """Parse Pax8 invoice items (API JSON or CSV) into DELIVERED rows (plus ``row``).

    Returns:
        Converted: service lines as delivered rows; money-only lines and rows with a missing
        or unparseable required value in the quarantine.

    Raises:
        InputFileError: ``companyId``, ``productId`` or ``quantity`` is missing from the header.
    """
    services, money_q = split_money_lines(raw)
    out = convert(services, ITEM_FIELDS, options)
    frame = out.frame
    amount = frame["cost_total"].fillna(frame["sub_total"])
    frame["quantity"], frame["unit_cost"] = credit_signs(
        frame["quantity"], frame["unit_cost"], amount)
    frame["charge_end"] = inclusive_end(frame["charge_start"], frame["charge_end"])
    frame["sku_name"] = frame["sku_name"].where(frame["sku_name"].ne(""), frame["description"])
    frame["charge_type"] = _item_type(services).loc[frame.index]
    frame["vendor"] = VENDOR
    frame = with_currency(frame, options)
    quarantine = pd.concat([money_q, out.quarantine], ignore_index=True)
    return Converted(delivered_frame(frame), tag_quarantine(quarantine, vendor=VENDOR))


def parse_subscriptions(raw: RawTable, options: LoadOptions) -> Converted:
    """Parse Pax8 subscriptions (API JSON or CSV) into DELIVERED rows (plus ``row``).

    Returns:
        Converted: one delivered row per subscription; cancelled subscriptions without an
        ``endDate`` and rows with a missing or unparseable required value are quarantined.
    """
    out = convert(raw, SUBSCRIPTION_FIELDS, options)
    frame = out.frame
    status = frame["charge_type"].str.lower()
    undated = status.isin({"cancelled", "canceled"}) & frame["charge_end"].isna()
    frame, q = quarantine_rows(
        frame,
        undated,
        QuarantineReason.NOT_BILLABLE_LINE,
        "cancelled subscription without endDate",
        "charge_type",
    )
    frame["charge_start"] = frame["start_date"].fillna(frame["billing_start"])
    frame["quantity"], frame["unit_cost"] = credit_signs(frame["quantity"], frame["unit_cost"])
    frame["vendor"] = VENDOR
    # subscriptions carry no company name or externalId: LINKER fills them from companies
    frame["vendor_customer_name"] = ""
    frame["client_link"] = ""
    frame = with_currency(frame, options)
    quarantine = pd.concat([out.quarantine, q], ignore_index=True)
    return Converted(delivered_frame(frame), tag_quarantine(quarantine, vendor=VENDOR))


def parse_companies(raw: RawTable, options: LoadOptions) -> Converted:
    """Parse Pax8 companies into the auxiliary ``pax8.companies`` frame.

    Returns:
        Converted: ``company_id``, ``company_name``, ``external_id``, ``status``, ``source``,
        ``row``.
    """
    return convert(raw, COMPANY_FIELDS, options)


def link_companies(entities: Mapping[str, pd.DataFrame], options: LoadOptions) -> LinkResult:
    """Fill empty ``vendor_customer_name`` / ``client_link`` of pax8 delivered rows.

    Returns:
        LinkResult replacing ``delivered`` (same rows, names and links filled) when a companies
        file and delivered rows are loaded; else nothing.
    """
    companies = entities.get(COMPANIES)
    delivered = entities.get("delivered")
    if companies is None or delivered is None or companies.empty or delivered.empty:
        return LinkResult({})
    by_id = companies.assign(key=companies["company_id"].str.lower()).drop_duplicates("key")
    by_id = by_id.set_index("key")
    out = delivered.copy()
    pax8 = out["vendor"].astype(str).str.lower().eq(VENDOR)
    key = out["vendor_customer_id"].astype(str).str.lower()
    pairs = (("vendor_customer_name", "company_name"), ("client_link", "external_id"))
    for target, source in pairs:
        known = by_id[source][by_id[source].ne("")]
        current = (
            out[target].where(out[target].notna(), "").astype(str)
            if target in out
            else pd.Series("", index=out.index)
        )
        found = key.map(known)
        fill = pax8 & current.eq("") & found.notna()
        out[target] = current.where(~fill, found).astype(object)
    return LinkResult({"delivered": out}, replace=frozenset({"delivered"}))


LINKER = Linker(VENDOR, consumes=frozenset({COMPANIES}), link=link_companies)

_CSV_OR_CONTENT = "content"  # API envelope; CSV and XLSX have no container

FORMATS = (
    SourceFormat(
        name="pax8_invoice_items",
        entity="delivered",
        signature=frozenset(
            {"companyId", "productId", "quantity", "type", "startPeriod", "endPeriod"}
        ),
        parse=parse_invoice_items,
        container=_CSV_OR_CONTENT,
        excludes=frozenset({"billingStart"}),
        record_id="id",
        description="Pax8 invoice items (partner API /invoices/{id}/items, or CSV/XLSX)",
    ),
    SourceFormat(
        name="pax8_subscriptions",
        entity="delivered",
        signature=frozenset({"companyId", "productId", "quantity", "startDate", "billingStart"}),
        parse=parse_subscriptions,
        container=_CSV_OR_CONTENT,
        excludes=frozenset({"startPeriod", "endPeriod"}),
        record_id="id",
        defers_to="pax8_invoice_items",
        description="Pax8 subscriptions (partner API /subscriptions, or CSV/XLSX)",
    ),
    SourceFormat(
        name="pax8_companies",
        entity=COMPANIES,
        signature=frozenset({"id", "name", "externalId", "billOnBehalfOfEnabled"}),
        parse=parse_companies,
        container=_CSV_OR_CONTENT,
        excludes=frozenset({"companyId", "productId"}),
        record_id="id",
        description="Pax8 companies (partner API /companies, or CSV/XLSX): names, externalId",
    ),
)
