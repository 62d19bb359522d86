"""Distributors' billing files beside Pax8: Sherweb payable charges, TD SYNNEX StreamOne Ion.

Both are ``delivered`` sources: what the MSP buys per customer and SKU. Field lists and their
sources are in ``docs/FORMATS.md`` (distributors).

Sherweb (``sherweb_payable_charges``): Distributor API ``GET /billing/payable-charges`` ->
``{"periodFrom", "periodTo", "charges": [...]}`` [spec: sherweb/Public-Apis OpenAPI].

* vendor ``sherweb``; customer: the charge's ``tags`` (name/value pairs "including customer
  information"): ``CustomerDisplayName`` [code: Sherweb's sample], the id from a tag named
  ``CustomerId`` / ``CustomerID`` / ``Customer Id`` when one is there [unconfirmed]; a charge
  with neither is quarantined (``missing_value``).
* SKU ``sku``, else ``productId``; sku_name ``productName``; quantity ``quantity``; unit_cost
  ``netPrice`` (list price less deductions: the full-period unit cost; ``netPriceProrated`` is
  the prorated one behind ``subTotal``); currency ``currency``; period ``periodFrom`` ..
  ``periodTo`` (an end on the 1st or on the start's day of the month is exclusive and moves back
  a day, as for Pax8); charge_type ``chargeType:billingCycleType`` (``Recurring:Monthly``).
* ``Setup`` charges are one-time fees (activation, cancellation): they deliver no seats and are
  quarantined as ``not_billable_line``, so the auditor still sees them.
* Credits: ``subTotal`` carries the sign. A charge whose ``subTotal`` is negative has a negative
  quantity and a positive unit cost, whatever signs the file gives them, so a credit lowers both
  the seats and the cost, never adds to either; without a ``subTotal``, a negative quantity or
  ``netPrice`` makes the credit (``amounts.credit_signs``).

StreamOne Ion (``streamone_subscriptions``): customer subscriptions of the v3 API
(``GET /api/v3/accounts/{accountId}/customers/{customerId}/subscriptions`` ->
``{"items": [...], "paginationResponse": {...}}``) [code: inserveit/td-synnex-stream-one-api-php
models; field names unconfirmed by a vendor document].

* vendor ``streamone``; customer ``customerId`` / ``customerName``; SKU ``ccpSkuId`` (the
  StreamOne catalogue SKU), else ``subscriptionSkuId``; sku_name ``subscriptionName``; quantity
  ``subscriptionTotalLicenses``; currency ``billingCurrency``; period
  ``subscriptionStartDate`` .. ``subscriptionEndDate``; charge_type ``subscriptionStatus``.
* unit_cost is left empty (unknown): the subscription's ``billingData`` entries carry a
  ``sellerCost`` whose unit (per seat, per cycle or total) no source confirms; an unknown cost
  is never guessed.
* A cancelled subscription without an end date cannot be placed in time: quarantined as
  ``not_billable_line`` (as Pax8 subscriptions).
"""

from __future__ import annotations

import json

import pandas as pd

from recon_helpers.core.schemas import QuarantineReason
from recon_helpers.ingest.loaders.amounts import credit_signs, denoise_doubles
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.loaders.canonical import with_currency
from recon_helpers.ingest.loaders.microsoft_nce import delivered_frame
from recon_helpers.ingest.loaders.pax8 import inclusive_end
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import (
    Converted,
    Field,
    LoadOptions,
    convert,
    quarantine_rows,
    tag_quarantine,
)

CUSTOMER_NAME_TAGS = ("customerdisplayname", "customername")
CUSTOMER_ID_TAGS = ("customerid", "customer id", "customer_id")

SHERWEB_FIELDS = (
    Field("tags", ("tags",), "text"),
    Field("sku", ("sku",), "id"),
    Field("vendor_product_id", ("productId",), "id"),
    Field("sku_name", ("productName",), "text"),
    Field("charge_name", ("chargeName",), "text"),
    Field("charge_kind", ("chargeType",), "text", required=True),
    Field("cycle", ("billingCycleType",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("unit_cost", ("netPrice",), "money"),
    Field("sub_total", ("subTotal",), "money"),
    Field("currency", ("currency",), "id"),
    Field("charge_start", ("periodFrom",), "date"),
    Field("charge_end", ("periodTo",), "date"),
)
STREAMONE_FIELDS = (
    Field("vendor_customer_id", ("customerId",), "id", required=True),
    Field("vendor_customer_name", ("customerName",), "text"),
    Field("ccp_sku", ("ccpSkuId",), "id"),
    Field("subscription_sku", ("subscriptionSkuId",), "id"),
    Field("sku_name", ("subscriptionName",), "text"),
    Field("quantity", ("subscriptionTotalLicenses",), "quantity", required=True),
    Field("currency", ("billingCurrency",), "id"),
    Field("charge_start", ("subscriptionStartDate",), "date"),
    Field("charge_end", ("subscriptionEndDate",), "date"),
    Field("charge_type", ("subscriptionStatus",), "text"),
)


def tag_values(tags: pd.Series, names: tuple[str, ...]) -> pd.Series:
    """Per row, the value of the first tag whose name is one of ``names`` (case-insensitive).

    ``tags`` holds the JSON text of ``[{"name": ..., "value": ...}, ...]``; each distinct text
    is parsed once.
    """
    def first(text: str) -> str:
        try:
            items = json.loads(text) if text.strip() else []
        except json.JSONDecodeError:
            return ""
        found = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                key = str(item.get("name") or "").strip().lower()
                found.setdefault(key, "" if item.get("value") is None else str(item["value"]))
        return next((found[n].strip() for n in names if found.get(n, "").strip()), "")

    distinct = {text: first(text) for text in tags.astype(str).unique()}
    return tags.astype(str).map(distinct).astype(object)


def signed_by_amount(quantity: pd.Series, unit_cost: pd.Series, amount: pd.Series
                     ) -> tuple[pd.Series, pd.Series]:
    """Quantity and unit cost with the sign of the line amount (a credit lowers both).

    Where ``amount`` is negative the quantity is made negative and the unit cost positive;
    where it is positive, both positive; where it is zero or missing, a negative quantity or
    unit cost makes a credit (:func:`~recon_helpers.ingest.loaders.amounts.credit_signs`).
    """
    return credit_signs(quantity, unit_cost, amount)


def parse_sherweb(raw: RawTable, options: LoadOptions) -> Converted:
    """Sherweb payable charges -> DELIVERED rows (Setup fees and nameless charges set aside)."""
    out = convert(denoise_doubles(raw, ("quantity", "netPrice", "subTotal")), SHERWEB_FIELDS,
                  options)
    frame, parts = out.frame, [out.quarantine]
    frame, q = quarantine_rows(
        frame, frame["charge_kind"].str.strip().str.lower().eq("setup"),
        QuarantineReason.NOT_BILLABLE_LINE,
        "Sherweb Setup charge (a one-time activation, cancellation or setup fee) delivers no "
        "seats", "charge_kind",
    )
    parts.append(q)
    frame["vendor_customer_id"] = tag_values(frame["tags"], CUSTOMER_ID_TAGS)
    frame["vendor_customer_name"] = tag_values(frame["tags"], CUSTOMER_NAME_TAGS)
    nameless = frame["vendor_customer_id"].eq("") & frame["vendor_customer_name"].eq("")
    frame, q = quarantine_rows(
        frame, nameless, QuarantineReason.MISSING_VALUE,
        "no CustomerDisplayName (or customer id) tag names the customer", "tags",
    )
    parts.append(q)
    frame["vendor_sku"] = frame["sku"].where(frame["sku"].ne(""), frame["vendor_product_id"])
    frame, q = quarantine_rows(frame, frame["vendor_sku"].eq(""), QuarantineReason.MISSING_VALUE,
                               "sku and productId are both empty", "vendor_sku")
    parts.append(q)
    frame["quantity"], frame["unit_cost"] = signed_by_amount(
        frame["quantity"].astype("int64"), frame["unit_cost"], frame["sub_total"]
    )
    frame["charge_end"] = inclusive_end(frame["charge_start"], frame["charge_end"])
    cycle = frame["cycle"].where(frame["cycle"].eq(""), ":" + frame["cycle"])
    frame["charge_type"] = frame["charge_kind"] + cycle
    frame["sku_name"] = frame["sku_name"].where(frame["sku_name"].ne(""), frame["charge_name"])
    frame["vendor"] = "sherweb"
    frame["client_link"] = ""
    frame = with_currency(frame, options)
    quarantine = tag_quarantine(pd.concat(parts, ignore_index=True), vendor="sherweb")
    return Converted(delivered_frame(frame), quarantine)


def parse_streamone(raw: RawTable, options: LoadOptions) -> Converted:
    """StreamOne Ion customer subscriptions -> DELIVERED rows (no unit cost: unconfirmed)."""
    out = convert(raw, STREAMONE_FIELDS, options)
    frame, parts = out.frame, [out.quarantine]
    frame["vendor_sku"] = frame["ccp_sku"].where(frame["ccp_sku"].ne(""),
                                                 frame["subscription_sku"])
    frame, q = quarantine_rows(frame, frame["vendor_sku"].eq(""), QuarantineReason.MISSING_VALUE,
                               "ccpSkuId and subscriptionSkuId are both empty", "vendor_sku")
    parts.append(q)
    status = frame["charge_type"].str.strip().str.lower()
    undated = status.isin({"cancelled", "canceled"}) & frame["charge_end"].isna()
    frame, q = quarantine_rows(frame, undated, QuarantineReason.NOT_BILLABLE_LINE,
                               "cancelled subscription without subscriptionEndDate", "charge_type")
    parts.append(q)
    frame["vendor"] = "streamone"
    frame["unit_cost"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["client_link"] = ""
    frame = with_currency(frame, options)
    quarantine = tag_quarantine(pd.concat(parts, ignore_index=True), vendor="streamone")
    return Converted(delivered_frame(frame), quarantine)


FORMATS: tuple[SourceFormat, ...] = (
    SourceFormat(
        name="sherweb_payable_charges",
        entity="delivered",
        signature=frozenset({"productId", "sku", "chargeType", "billingCycleType",
                             "netPriceProrated", "subTotal"}),
        parse=parse_sherweb,
        kinds=frozenset({"json"}),
        container="charges",
        description="Sherweb Distributor API payable charges (customer from the charge tags)",
    ),
    SourceFormat(
        name="streamone_subscriptions",
        entity="delivered",
        signature=frozenset({"customerId", "subscriptionId", "subscriptionTotalLicenses",
                             "subscriptionStatus"}),
        parse=parse_streamone,
        kinds=frozenset({"json"}),
        container="items",
        record_id="id",
        description="TD SYNNEX StreamOne Ion v3 customer subscriptions (seats per SKU)",
    ),
)
