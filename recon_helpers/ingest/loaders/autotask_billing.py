"""Autotask (Datto) PSA invoices: the Invoices entity and the BillingItems posted on them.

Both files are REST query responses ``{"items": [...], "pageDetails": {...}}`` (APIS.md 2:
``Invoices`` by ``invoiceDateTime`` range, ``BillingItems`` by ``invoiceID in [...]``). A
billing item is one posted charge; the recurring service charges of a contract are the
invoice lines this workbook reconciles. :func:`link_billed` (called by the Autotask linker in
:mod:`recon_helpers.ingest.loaders.autotask`) turns them into BILLED rows: client = the item's
``companyID`` (else its invoice's), product = ``serviceID`` (the SPEC Autotask product key,
Services ``id``), quantity = ``quantity``, unit price = ``rate``, amount = ``extendedPrice``
(before tax), invoice number and date from the invoice.

Decisions:
    * Only service charges are invoice lines here. An item without ``serviceID`` and without
      ``contractServiceID`` (labour, expenses, ticket / project / contract charges,
      milestones, service bundles) is quarantined as ``not_billable_line``; so is an item
      with ``nonBillable`` set, one not on an invoice yet, or one on a voided invoice.
      ``billingItemType`` / ``subType`` are per-tenant picklists and are not interpreted.
    * ``serviceID`` on the item is the product; without it, the item's ``contractServiceID``
      names the contract service whose ``serviceID`` it is. A contract service or invoice
      that is not loaded is ``unknown_reference``.
    * ``extendedPrice`` is the amount (``totalAmount`` adds tax); without it, quantity x rate
      rounded half away from zero to MONEY_SCALE. Signs are kept as posted.
    * A service adjustment billed pro rata (``contractServiceAdjustmentID``) is a line like
      any other: units added mid-month at a prorated ``rate`` show as a price difference
      against the month-end agreement (the month rule prorates agreements, not invoices).
    * Dates (``invoiceDateTime``, ``fromDate``, ``toDate``, ``itemDate``) are local midnight
      in UTC like every Autotask date (``iso_local_midnight``, ``[autotask] timezone``). The
      billed period is the invoice's ``fromDate``..``toDate``.
    * Currency: Autotask gives a ``currencyID`` picklist, never a code, so the file's
      (recon.toml) currency; under multi-currency ``rate`` and ``extendedPrice`` are in the
      customer currency (Autotask's documented rule), so set that currency per file.
    * ``serviceID`` on BillingItems is in the REST entity metadata (generated clients
      Anteris-Dev/autotask-client, panoramicdata/AutoTask.Psa.Api) but not in the entity
      page's prose; the ``contractServiceID`` route covers an export without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import pandas as pd

from recon_helpers.core.schemas import BILLED, QTY_SCALE, QuarantineReason, empty_quarantine
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.loaders.connectwise import mul_div_round
from recon_helpers.ingest.loaders.linking import (
    concat_quarantine,
    join_referenced,
    psa_parser,
    quarantine_where,
    reference_table,
)
from recon_helpers.ingest.validation import Field

FAMILY = "autotask"  # the family of recon_helpers.ingest.loaders.autotask, which links these
INVOICES = "autotask.invoices"
BILLING_ITEMS = "autotask.billing_items"

_LOCAL = "iso_local_midnight"

INVOICE_FIELDS = (
    Field("invoice_id", ("id",), "id", required=True),
    Field("company_id", ("companyID",), "id"),
    Field("invoice_number", ("invoiceNumber",), "id"),
    Field("invoice_date", ("invoiceDateTime",), "date", date_format=_LOCAL),
    Field("from_date", ("fromDate",), "date", date_format=_LOCAL),
    Field("to_date", ("toDate",), "date", date_format=_LOCAL),
    Field("voided", ("isVoided",), "bool"),
    Field("invoice_total", ("invoiceTotal",), "money"),
)
ITEM_FIELDS = (
    Field("item_id", ("id",), "id", required=True),
    Field("company_id", ("companyID",), "id"),
    Field("invoice_id", ("invoiceID",), "id"),
    Field("contract_id", ("contractID",), "id"),
    Field("contract_service_id", ("contractServiceID",), "id"),
    Field("service_id", ("serviceID",), "id"),
    Field("bundle_id", ("contractServiceBundleID", "serviceBundleID"), "id"),
    Field("item_name", ("itemName",), "text"),
    Field("item_description", ("description",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("unit_price", ("rate",), "money"),
    Field("ext_price", ("extendedPrice",), "money"),
    Field("non_billable", ("nonBillable",), "bool"),
    Field("item_date", ("itemDate",), "date", date_format=_LOCAL),
)

_parse = partial(psa_parser, family=FAMILY)


def _service_items(items: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The items that are invoiced service charges, and the quarantine of the others."""
    kept, q1 = quarantine_where(
        items, items["non_billable"], QuarantineReason.NOT_BILLABLE_LINE, "non_billable",
        "nonBillable is set: the item is not charged to the client",
    )
    no_service = kept["service_id"].eq("") & kept["contract_service_id"].eq("")
    bundle = no_service & kept["bundle_id"].ne("")
    kept, q2 = quarantine_where(
        kept, bundle, QuarantineReason.NOT_BILLABLE_LINE, "bundle_id",
        "a service bundle charge: bundles are not reconciled (their units are not loaded)",
    )
    no_service = kept["service_id"].eq("") & kept["contract_service_id"].eq("")
    kept, q3 = quarantine_where(
        kept, no_service, QuarantineReason.NOT_BILLABLE_LINE, "item_name",
        "not a recurring service charge (labour, expense, ticket, project or milestone "
        "charge): only services are reconciled",
    )
    kept, q4 = quarantine_where(
        kept, kept["invoice_id"].eq(""), QuarantineReason.NOT_BILLABLE_LINE, "invoice_id",
        "posted but not on an invoice yet (invoiceID is empty)",
    )
    return kept, [q1, q2, q3, q4]


def _resolve_service(
    items: pd.DataFrame, contract_services: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``service_id`` from the contract service where the item names none; unknown ones out."""
    services = reference_table(
        contract_services, "contract_service_id", ["contract_service_id", "service_id"]
    ).set_index("contract_service_id")["service_id"]
    via = items["contract_service_id"].map(services).astype(object).fillna("")
    items["service_id"] = items["service_id"].where(items["service_id"].ne(""), via)
    return quarantine_where(
        items, items["service_id"].eq(""), QuarantineReason.UNKNOWN_REFERENCE,
        "contract_service_id",
        "contractServiceID {value} matches no loaded contract service (and the item has no "
        "serviceID)",
    )


def link_billed(
    entities: Mapping[str, pd.DataFrame], contract_services: str
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """BILLED rows from billing items joined to their invoice.

    Args:
        entities: every loaded entity frame (each file's currency was set when it was read).
        contract_services: the entity name of the loaded ContractServices.

    Returns:
        (billed rows, the billing items kept, quarantine rows)
    """
    items = entities.get(BILLING_ITEMS)
    if items is None or items.empty:
        return BILLED.empty(), items, empty_quarantine()
    kept, parts = _service_items(items)
    invoices = reference_table(
        entities.get(INVOICES), "invoice_id",
        ["invoice_id", "invoice_number", "company_id", "invoice_date", "from_date", "to_date",
         "voided"],
        dates=["invoice_date", "from_date", "to_date"],
    )
    joined, kept, q_ref = join_referenced(
        kept, invoices.rename(columns={"company_id": "invoice_company"}), "invoice_id",
        "invoiceID {value} matches no usable row of the loaded Autotask invoices",
    )
    voided = joined["voided"].fillna(False).astype(bool)
    joined, q_void = quarantine_where(
        joined, voided, QuarantineReason.NOT_BILLABLE_LINE, "invoice_number",
        "invoice {value} is voided",
    )
    joined, q_cs = _resolve_service(joined, entities.get(contract_services))
    sources = set(joined["source"])
    kept = kept[kept["source"].isin(sources)]
    joined["client_id"] = joined["company_id"].where(
        joined["company_id"].ne(""), joined["invoice_company"]
    )
    joined["invoice_number"] = joined["invoice_number"].where(
        joined["invoice_number"].ne(""), joined["invoice_id"]
    )
    joined["product_id"] = joined["service_id"]
    joined["description"] = joined["item_name"].where(
        joined["item_name"].ne(""), joined["item_description"]
    )
    computed = mul_div_round(joined["quantity"], joined["unit_price"], QTY_SCALE)
    joined["amount"] = joined["ext_price"].fillna(computed)
    joined["period_start"] = joined["from_date"]
    joined["period_end"] = joined["to_date"]
    billed = BILLED.conform(joined)
    return billed, kept, concat_quarantine(*parts, q_ref, q_void, q_cs)


_JSON = frozenset({"json"})

FORMATS: tuple[SourceFormat, ...] = (
    SourceFormat(
        "autotask_invoices", INVOICES,
        frozenset({"id", "companyID", "invoiceNumber", "invoiceDateTime"}),
        _parse(INVOICE_FIELDS), kinds=_JSON, container="items", record_id="id",
        description="Autotask Invoices query (headers: number, date, company)",
    ),
    SourceFormat(
        "autotask_billing_items", BILLING_ITEMS,
        frozenset({"id", "billingItemType", "invoiceID", "quantity", "rate"}),
        _parse(ITEM_FIELDS, currency=True), kinds=_JSON, container="items", record_id="id",
        description="Autotask BillingItems query (posted charges; service charges are billed)",
    ),
)
