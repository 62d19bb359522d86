"""Microsoft licences beyond the invoice: Partner Center subscriptions and licence counts.

Three JSON documents, each saved as its API returns it, one file per customer tenant
(FORMATS.md 1.6, APIS.md 4):

* ``microsoft_pc_subscriptions``: Partner Center ``GET /v1/customers/{id}/subscriptions``,
  ``{"totalCount", "items": [...], "links", "attributes"}`` -> entity
  ``microsoft.subscriptions`` (:data:`SUBSCRIPTION_COLUMNS`): what was bought, on which term,
  until when it can be reduced, and what the next term will be.
* ``microsoft_pc_subscribed_skus``: Partner Center ``GET /v1/customers/{id}/subscribedskus``,
  ``{"totalCount", "items": [...]}`` -> entity ``microsoft.licences``.
* ``microsoft_graph_subscribed_skus``: Microsoft Graph ``GET /v1.0/subscribedSkus`` in the
  customer's tenant, ``{"@odata.context", "value": [...]}`` -> entity ``microsoft.licences``
  (:data:`LICENCE_COLUMNS`): what is assigned (``consumedUnits``) against what is prepaid
  (``prepaidUnits.enabled``).

The customer tenant: a subscription's ``links.self.uri`` (``customers/{tenant}/subscriptions/
{id}``), a Graph SKU's ``id`` (``{tenant}_{skuId}``) or ``accountId``; else the one GUID in the
file name (``recon pull`` and a careful download name the file after the tenant). Two
different tenants in one file are an error; a row whose tenant nothing tells cannot be used:
guessing would give one client another's seats, so such rows are quarantined (a whole
file of them exceeds ``[quarantine] max_share``:
an error).

Strictness: dates and instants are ISO-8601 (``2026-10-07T00:00:00Z``; a value without an
offset is UTC, as Microsoft writes them); ``commitmentEndDate`` is a date (the last day of the
commitment); ``cancellationAllowedUntilDate`` and each ``refundableQuantity.details[]
.allowedUntilDateTime`` are instants kept in UTC to the second. ``termDuration`` must be an
ISO-8601 duration of months or years (``P1M``, ``P1Y``, ``P3Y``). IDs stay strings, quantities
exact. A row with a bad value is quarantined with its reason; a document that declares more
records (``totalCount``) than it holds is an error (a truncated save or a missing page).

The Graph ``skuId`` GUID is not the Partner Center ``ProductId:SkuId``; the rules map it with
:mod:`recon_helpers.reconcile.licences` (shipped table plus ``mappings/microsoft_skus.csv``).

Not supported: the CIPP licence report CSV. Its columns could not be pinned from public
sources (CIPP builds the table in its front end from Graph ``subscribedSkus``); save the Graph
document per tenant instead, or prepare the counts in that shape.
"""

from __future__ import annotations

import json
import re

import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.schemas import QTY_SCALE, QuarantineReason, conform_quarantine
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import (
    Converted,
    Field,
    LoadOptions,
    convert,
    quarantine_rows,
    tag_quarantine,
)

VENDOR = "microsoft"
SUBSCRIPTIONS = "microsoft.subscriptions"
LICENCES = "microsoft.licences"

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GUID_RE = re.compile(_GUID)
_SELF_URI = re.compile(rf"customers/({_GUID})/subscriptions/", re.IGNORECASE)
_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)?(?:Z|[+-]\d{2}:\d{2})?$"
)
_TERM = re.compile(r"^P(\d{1,2})([MY])$")

SUBSCRIPTION_COLUMNS = (
    "vendor", "vendor_customer_id", "subscription_id", "offer_id", "vendor_sku", "offer_name",
    "quantity", "status", "term", "term_months", "billing_cycle", "auto_renew",
    "effective_start", "commitment_end", "cancel_until", "refundable_qty", "refund_windows",
    "next_vendor_sku", "next_quantity", "next_term", "next_billing_cycle", "source", "row",
)
LICENCE_COLUMNS = (
    "vendor", "vendor_customer_id", "sku_guid", "sku_part_number", "sku_name", "prepaid",
    "warning", "assigned", "capability_status", "origin", "source", "row",
)


def parse_instants(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO-8601 instants -> (``datetime64[ns, UTC]``, bad mask); empty is NaT, not bad.

    A value without an offset is UTC (Microsoft's API writes ``Z``); fractions of a second
    beyond whole seconds are dropped (.NET writes seven digits), so a deadline is never moved
    later than written.
    """
    s = text.astype(object).where(text.notna(), "").astype(str).str.strip()
    empty = s.eq("")
    shaped = s.str.match(_INSTANT)
    parsed = pd.to_datetime(s.where(shaped & ~empty, None), utc=True, format="ISO8601",
                            errors="coerce")
    parsed = pd.Series(parsed, index=s.index).dt.floor("s")
    bad = ~empty & parsed.isna()
    return parsed, bad


def term_months(term: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``P1M`` / ``P1Y`` / ``P3Y`` -> months (Int64), and the non-empty values that are not."""
    s = term.astype(str).str.strip().str.upper()
    parts = s.str.extract(_TERM)
    n = pd.to_numeric(parts[0], errors="coerce")
    months = (n * parts[1].map({"M": 1, "Y": 12})).astype("Int64")
    return months, s.ne("") & months.isna()


def _file_tenant(raw: RawTable) -> str:
    found = {g.lower() for g in _GUID_RE.findall(raw.path.name)}
    return found.pop() if len(found) == 1 else ""


def _tenants(raw: RawTable, written: pd.Series, what: str) -> pd.Series:
    """Each row's customer tenant: what the record says, else the file name's GUID ("" when
    neither tells: the caller quarantines those rows).

    Raises:
        InputFileError: the file's records name several tenants, or contradict the file name
            (the wrong customer's download).
    """
    from_file = _file_tenant(raw)
    tenant = written.astype(str).str.lower()
    named = set(tenant[tenant.ne("")])
    if len(named) > 1:
        raise InputFileError(raw.path, f"holds the {what} of several customer tenants "
                             f"({', '.join(sorted(named)[:3])}); save one file per tenant")
    if named and from_file and named != {from_file}:
        raise InputFileError(raw.path, f"its records belong to tenant {named.pop()} but the "
                             f"file name names tenant {from_file}: the wrong customer's download?")
    return tenant.where(tenant.ne(""), from_file)


NO_TENANT = ("the customer tenant is unknown: the record does not say and the file name holds "
             "no tenant GUID (save one file per tenant, named e.g. "
             "subscribedskus-<tenant id>.json)")


def _check_total(raw: RawTable, what: str) -> None:
    """A document declaring more records than it holds is truncated or one page of several."""
    total = raw.envelope.get("totalCount")
    if total in (None, ""):
        return
    try:
        declared = int(str(total))
    except ValueError:
        raise InputFileError(raw.path, f"totalCount {total!r} is not a number") from None
    if declared != raw.rows_read:
        raise InputFileError(raw.path, f"declares totalCount {declared} {what} but holds "
                             f"{raw.rows_read}: a truncated save or a missing page; download "
                             "it again")


SUB_FIELDS = (
    Field("subscription_id", ("id",), "id", required=True),
    Field("offer_id", ("offerId",), "id", required=True),
    Field("offer_name", ("offerName", "friendlyName"), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("status", ("status",), "text", required=True),
    Field("term", ("termDuration",), "text", required=True),
    Field("billing_cycle", ("billingCycle",), "text"),
    Field("auto_renew", ("autoRenewEnabled",), "bool"),
    Field("effective_start", ("effectiveStartDate",), "date"),
    Field("commitment_end", ("commitmentEndDate",), "date"),
    Field("refundable_qty", ("refundableQuantity.totalQuantity",), "quantity"),
    Field("next_product", ("scheduledNextTermInstructions.product.productId",), "id"),
    Field("next_sku", ("scheduledNextTermInstructions.product.skuId",), "id"),
    Field("next_quantity", ("scheduledNextTermInstructions.quantity",), "quantity"),
    Field("next_term", ("scheduledNextTermInstructions.product.termDuration",), "text"),
    Field("next_billing_cycle", ("scheduledNextTermInstructions.product.billingCycle",), "text"),
)


def _windows(text: str) -> str | None:
    """``refundableQuantity.details`` (a JSON list as flattened) -> ``qty@ISO;...`` sorted by
    time, or None when malformed. Empty -> ""."""
    if not text.strip():
        return ""
    try:
        details = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError:
        return None
    if not isinstance(details, list):
        return None
    out = []
    for d in details:
        if not isinstance(d, dict):
            return None
        quantity, until = str(d.get("quantity", "")).strip(), str(
            d.get("allowedUntilDateTime", "")).strip()
        if not re.fullmatch(r"\d+", quantity) or not _INSTANT.match(until):
            return None
        instant, bad = parse_instants(pd.Series([until]))
        if bad.iloc[0]:
            return None
        out.append((instant.iloc[0], int(quantity)))
    return ";".join(f"{q}@{t.strftime('%Y-%m-%dT%H:%M:%SZ')}" for t, q in sorted(out))


def parse_subscriptions(raw: RawTable, options: LoadOptions) -> Converted:
    """Parse a Partner Center customer subscriptions document (SUBSCRIPTION_COLUMNS).

    Raises:
        InputFileError: a required key is absent, the tenant cannot be told (or is
            contradicted), or ``totalCount`` disagrees with the records held.
    """
    _check_total(raw, "subscriptions")
    out = convert(raw, SUB_FIELDS, options)
    frame, parts = out.frame, [out.quarantine]
    uri_col = raw.column("links.self.uri")
    uri = (raw.data.loc[frame.index, uri_col].astype(str) if uri_col
           else pd.Series("", index=frame.index))
    frame["vendor_customer_id"] = _tenants(raw, uri.str.extract(_SELF_URI)[0].fillna(""),
                                           "subscriptions")
    frame, q = quarantine_rows(frame, frame["vendor_customer_id"].eq(""),
                               QuarantineReason.MISSING_VALUE, NO_TENANT, "vendor_customer_id")
    parts.append(q)
    frame["vendor"] = VENDOR
    # offerId is product:sku:availability (FORMATS 1.6); the SKU key is ProductId:SkuId
    offer = frame["offer_id"].str.split(":")
    frame["vendor_sku"] = offer.str[0].str.upper() + ":" + offer.str[1].fillna("")
    frame, q = quarantine_rows(frame, offer.str.len().lt(2) | frame["vendor_sku"].str.endswith(":"),
                               QuarantineReason.BAD_ID,
                               "offerId is not ProductId:SkuId[:AvailabilityId]", "offer_id")
    parts.append(q)
    months, bad_term = term_months(frame["term"])
    frame["term_months"] = months
    frame, q = quarantine_rows(frame, bad_term, QuarantineReason.BAD_NUMBER,
                               "termDuration is not an ISO-8601 term P<n>M or P<n>Y", "term")
    parts.append(q)
    frame["term"] = frame["term"].str.upper()
    _, bad_next = term_months(frame["next_term"])
    frame, q = quarantine_rows(frame, bad_next, QuarantineReason.BAD_NUMBER,
                               "scheduledNextTermInstructions termDuration is not P<n>M or P<n>Y",
                               "next_term")
    parts.append(q)
    frame["next_term"] = frame["next_term"].str.upper()
    col = raw.column("cancellationAllowedUntilDate")
    text = raw.data.loc[frame.index, col] if col else pd.Series("", index=frame.index)
    frame["cancel_text"] = text.astype(object)
    frame["cancel_until"], bad = parse_instants(frame["cancel_text"])
    frame, q = quarantine_rows(frame, bad, QuarantineReason.BAD_DATE,
                               "cancellationAllowedUntilDate is not an ISO-8601 instant",
                               "cancel_text")
    parts.append(q)
    col = raw.column("refundableQuantity.details")
    text = raw.data.loc[frame.index, col] if col else pd.Series("", index=frame.index)
    frame["details_text"] = text.astype(object)
    windows = frame["details_text"].astype(str).map(_windows)
    frame["refund_windows"] = windows
    frame, q = quarantine_rows(frame, windows.isna(), QuarantineReason.BAD_DATE,
                               "refundableQuantity.details is not a list of {quantity, "
                               "allowedUntilDateTime} with whole quantities and ISO-8601 instants",
                               "details_text")
    parts.append(q)
    nxt = frame["next_product"].str.upper() + ":" + frame["next_sku"]
    frame["next_vendor_sku"] = nxt.where(frame["next_product"].ne(""), "")
    frame["status"] = frame["status"].str.lower()
    frame["billing_cycle"] = frame["billing_cycle"].str.lower()
    frame["next_billing_cycle"] = frame["next_billing_cycle"].str.lower()
    for c in ("quantity", "refundable_qty", "next_quantity"):
        frame[c] = frame[c].astype("Int64")
    quarantine = _identified(raw, _tag(raw, pd.concat(parts, ignore_index=True)))
    return Converted(frame[list(SUBSCRIPTION_COLUMNS)].reset_index(drop=True), quarantine)


def _identified(raw: RawTable, q: pd.DataFrame) -> pd.DataFrame:
    """A quarantined subscription's tenant and ``ProductId:SkuId`` as written, so the findings
    of that tenant x SKU are held (``quarantined_row``) while it is out."""
    uri, offer = raw.column("links.self.uri"), raw.column("offerId")
    if q.empty or offer is None:
        return q
    parts = raw.data[offer].astype(str).str.strip().str.split(":")
    written = pd.DataFrame({
        "row": raw.rows.to_numpy(),
        "_sku": (parts.str[0].str.upper() + ":" + parts.str[1].fillna("")).to_numpy(),
        "_tenant": (raw.data[uri].astype(str).str.extract(_SELF_URI)[0].fillna("").str.lower()
                    if uri else pd.Series("", index=raw.data.index)).to_numpy(),
    })
    q = q.merge(written, on="row", how="left")
    q["vendor_sku"] = q["vendor_sku"].where(q["vendor_sku"].ne(""), q["_sku"].fillna(""))
    q["vendor_customer"] = q["vendor_customer"].where(q["vendor_customer"].ne(""),
                                                      q["_tenant"].fillna(""))
    return q.drop(columns=["_sku", "_tenant"])


def _tag(raw: RawTable, quarantine: pd.DataFrame) -> pd.DataFrame:
    q = tag_quarantine(conform_quarantine(quarantine), vendor=VENDOR)
    tenant = _file_tenant(raw)
    if tenant:
        q["vendor_customer"] = q["vendor_customer"].where(q["vendor_customer"].ne(""), tenant)
    return q


PC_SKU_FIELDS = (
    Field("sku_guid", ("productSku.id",), "id", required=True),
    Field("sku_part_number", ("productSku.skuPartNumber",), "id"),
    Field("sku_name", ("productSku.name",), "text"),
    Field("prepaid", ("activeUnits", "totalUnits"), "quantity", required=True),
    Field("warning", ("warningUnits",), "quantity"),
    Field("assigned", ("consumedUnits",), "quantity", required=True),
    Field("capability_status", ("capabilityStatus",), "text"),
)
GRAPH_SKU_FIELDS = (
    Field("graph_id", ("id",), "id"),
    Field("account_id", ("accountId",), "id"),
    Field("sku_guid", ("skuId",), "id", required=True),
    Field("sku_part_number", ("skuPartNumber",), "id", required=True),
    Field("prepaid", ("prepaidUnits.enabled",), "quantity", required=True),
    Field("warning", ("prepaidUnits.warning",), "quantity"),
    Field("assigned", ("consumedUnits",), "quantity", required=True),
    Field("capability_status", ("capabilityStatus",), "text"),
)


def _licence_frame(raw: RawTable, out: Converted, tenant: pd.Series, origin: str) -> Converted:
    frame = out.frame
    frame["vendor_customer_id"] = tenant
    frame, lost = quarantine_rows(frame, frame["vendor_customer_id"].eq(""),
                                  QuarantineReason.MISSING_VALUE, NO_TENANT, "vendor_customer_id")
    frame["vendor"] = VENDOR
    frame["origin"] = origin
    frame["sku_guid"] = frame["sku_guid"].str.lower()
    if "sku_name" not in frame:
        frame["sku_name"] = ""
    for c in ("prepaid", "warning", "assigned"):
        frame[c] = frame[c].astype("int64")
    # counts are whole licences; a fraction means the value is not what we think it is
    frame, q = quarantine_rows(
        frame, (frame[["prepaid", "warning", "assigned"]] % QTY_SCALE).ne(0).any(axis=1),
        QuarantineReason.BAD_NUMBER, "licence counts must be whole numbers", "assigned")
    quarantine = _tag(raw, pd.concat([out.quarantine, lost, q], ignore_index=True))
    return Converted(frame[list(LICENCE_COLUMNS)].reset_index(drop=True), quarantine)


def parse_pc_subscribed_skus(raw: RawTable, options: LoadOptions) -> Converted:
    """Parse a Partner Center subscribed SKUs document (LICENCE_COLUMNS).

    Raises:
        InputFileError: a required key is absent, the file name tells no tenant, or
            ``totalCount`` disagrees with the records held.
    """
    _check_total(raw, "subscribed SKUs")
    out = convert(raw, PC_SKU_FIELDS, options)
    tenant = _tenants(raw, pd.Series("", index=out.frame.index), "subscribed SKUs")
    return _licence_frame(raw, out, tenant, "partner_center")


def parse_graph_subscribed_skus(raw: RawTable, options: LoadOptions) -> Converted:
    """Parse a Microsoft Graph ``subscribedSkus`` document of one tenant (LICENCE_COLUMNS).

    Raises:
        InputFileError: a required key is absent, or the tenant cannot be told or is
            contradicted.
    """
    out = convert(raw, GRAPH_SKU_FIELDS, options)
    frame = out.frame
    prefix, _, suffix = (frame["graph_id"].str.partition("_")[i] for i in (0, 1, 2))
    by_id = prefix.where(prefix.str.fullmatch(_GUID) & suffix.str.lower().eq(
        frame["sku_guid"].str.lower()), "")
    account = frame["account_id"].where(frame["account_id"].str.fullmatch(_GUID), "")
    tenant = _tenants(raw, by_id.where(by_id.ne(""), account), "subscribed SKUs")
    return _licence_frame(raw, out, tenant, "graph")


FORMATS = (
    SourceFormat(
        name="microsoft_pc_subscriptions",
        entity=SUBSCRIPTIONS,
        signature=frozenset({"id", "offerId", "quantity", "termDuration", "billingCycle",
                             "status", "autoRenewEnabled"}),
        parse=parse_subscriptions,
        kinds=frozenset({"json"}),
        container="items",
        record_id="id",
        description="Microsoft Partner Center customer subscriptions (GET /v1/customers/{id}/"
        "subscriptions), one tenant per file",
    ),
    SourceFormat(
        name="microsoft_pc_subscribed_skus",
        entity=LICENCES,
        signature=frozenset({"productSku.id", "productSku.skuPartNumber", "consumedUnits",
                             "activeUnits"}),
        parse=parse_pc_subscribed_skus,
        kinds=frozenset({"json"}),
        container="items",
        description="Microsoft Partner Center customer subscribed SKUs (licences assigned), "
        "one tenant per file named with its GUID",
    ),
    SourceFormat(
        name="microsoft_graph_subscribed_skus",
        entity=LICENCES,
        signature=frozenset({"skuId", "skuPartNumber", "consumedUnits", "prepaidUnits.enabled"}),
        parse=parse_graph_subscribed_skus,
        kinds=frozenset({"json"}),
        container="value",
        description="Microsoft Graph subscribedSkus of one customer tenant (assigned vs "
        "prepaid licences)",
    ),
)
