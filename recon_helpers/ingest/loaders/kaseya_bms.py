"""Kaseya BMS (API v2) exports: accounts, contracts, their recurring services, invoices, services.

Every file is a response as the API returns it, ``{"Success": true, "Error": null, "Result":
[...], "TotalRecords": n}`` (FORMATS.md 5.3, APIS.md 6.2); PascalCase fields. BMS answers
errors with HTTP 200 and ``Success: false``: such a saved document is refused by the reader
(an InputFileError naming the file and the BMS error), never read as an empty month.

Files and keys:
    * accounts ``GET /v2/crm/accounts/summary``: client_id = account ``Id``, ``AccountName``.
    * contracts ``GET /v2/finance/contracts/summary``: ``Id``, ``AccountName`` (no account id),
      ``Status``, ``StartDate``, ``EndDate``.
    * contract services: the recurring-service lines (``ServiceId``, ``ContractId``, ``Units``,
      ``UnitPrice``, ``UnitCost``, ``EffectiveDate``) as the recurring-services endpoints
      return them: a contract document's ``Result.Services`` or a ``Result`` list of lines.
      BMS v2 has no GET for them (APIS.md 6.2): save the contract documents.
    * invoices ``GET /v2/finance/invoices/summary``: ``Id``, ``InvoiceNumber``, ``AccountId``,
      ``InvoiceDate``, ``InvoiceFrom``..``InvoiceTo``.
    * invoice lines ``POST /v2/finance/invoices/details`` (or an invoice's
      ``Result.LineItems``): ``InvoiceId``, ``Name``, ``Qty``, ``UnitPrice``, ``TotalPrice``,
      ``ContractId``.
    * services catalogue ``POST /v2/admin/finance/services/search``: product_id = ``Id``,
      ``Name``, ``UnitPrice``, ``UnitCost``.

The LINKER builds PROMISED rows from contract services (client: the contract's AccountName,
matched case-insensitively to exactly one loaded account; product: ``ServiceId``; dates: the
service's ``EffectiveDate`` (else the contract's start) to the contract's ``EndDate``) and
BILLED rows from invoice lines joined to their invoice (client ``AccountId``, period
``InvoiceFrom``..``InvoiceTo``). An invoice line names its service only by ``Name``: it is the
contract's service of that name (``ContractId``), else the one catalogue service of that name;
a line that names neither is quarantined as ``unknown_reference``.

Decisions:
    * Money and quantities are .NET doubles: binary noise is rounded away
      (:func:`recon_helpers.ingest.loaders.amounts.denoise_doubles`); amount = ``TotalPrice``, else
      ``Qty`` x ``UnitPrice`` rounded to the cent. Negative lines keep their sign.
    * Currency is the file's (recon.toml) currency: BMS money fields carry no code.
    * A contract's ``Status`` is kept but not interpreted (its values are unconfirmed); its
      ``EndDate`` ends its lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import pandas as pd

from recon_helpers.core.schemas import BILLED, CATALOGUE, CLIENTS, PROMISED, QuarantineReason
from recon_helpers.ingest.loaders.amounts import denoise_doubles, first_filled, line_amount
from recon_helpers.ingest.loaders.base import Linker, LinkResult, SourceFormat
from recon_helpers.ingest.loaders.linking import (
    concat_quarantine,
    join_referenced,
    psa_parser,
    quarantine_where,
    reference_table,
)
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions

FAMILY = "kaseya_bms"
CONTRACTS = "kaseya_bms.contracts"
SERVICES = "kaseya_bms.contract_services"
INVOICES = "kaseya_bms.invoices"
INVOICE_LINES = "kaseya_bms.invoice_lines"
DOUBLES = ("UnitPrice", "UnitCost", "TotalPrice", "Qty", "Units")

ACCOUNT_FIELDS = (
    Field("client_id", ("Id",), "id", required=True),
    Field("client_name", ("AccountName",), "text"),
)
CONTRACT_FIELDS = (
    Field("contract_id", ("Id",), "id", required=True),
    Field("contract_name", ("ContractName",), "text"),
    Field("account_name", ("AccountName",), "text", required=True),
    Field("contract_type", ("ContractType",), "text"),
    Field("status", ("Status",), "text"),
    Field("start_date", ("StartDate",), "date"),
    Field("end_date", ("EndDate",), "date"),
)
SERVICE_FIELDS = (
    Field("service_row_id", ("Id",), "id"),
    Field("service_id", ("ServiceId",), "id", required=True),
    Field("contract_id", ("ContractId",), "id", required=True),
    Field("service_name", ("ServiceName",), "text"),
    Field("service_description", ("ServiceDescription", "Description"), "text"),
    Field("units", ("Units",), "quantity", required=True),
    Field("unit_price", ("UnitPrice",), "money"),
    Field("unit_cost", ("UnitCost",), "money"),
    Field("effective_date", ("EffectiveDate",), "date"),
)
INVOICE_FIELDS = (
    Field("invoice_id", ("Id",), "id", required=True),
    Field("invoice_number", ("InvoiceNumber",), "id"),
    Field("account_id", ("AccountId",), "id", required=True),
    Field("account_name", ("AccountName",), "text"),
    Field("status", ("StatusName",), "text"),
    Field("invoice_date", ("InvoiceDate",), "date"),
    Field("period_start", ("InvoiceFrom",), "date"),
    Field("period_end", ("InvoiceTo",), "date"),
)
LINE_FIELDS = (
    Field("line_id", ("Id",), "id"),
    Field("invoice_id", ("InvoiceId",), "id", required=True),
    Field("line_invoice_number", ("InvoiceNumber",), "id"),
    Field("name", ("Name",), "text"),
    Field("line_description", ("Description",), "text"),
    Field("type_name", ("TypeName",), "text"),
    Field("quantity", ("Qty",), "quantity", required=True),
    Field("unit_price", ("UnitPrice",), "money"),
    Field("total_price", ("TotalPrice",), "money"),
    Field("contract_id", ("ContractId",), "id"),
)
CATALOGUE_FIELDS = (
    Field("product_id", ("Id",), "id", required=True),
    Field("description", ("Name",), "text"),
    Field("unit_price", ("UnitPrice",), "money"),
    Field("unit_cost", ("UnitCost",), "money"),
)


def _bms(fields: tuple[Field, ...], **kwargs: bool):  # type: ignore[no-untyped-def]
    """A parse function: doubles denoised, then the shared PSA parsing."""
    parse = psa_parser(fields, FAMILY, **kwargs)

    def parse_bms(raw: RawTable, options: LoadOptions) -> Converted:
        return parse(denoise_doubles(raw, DOUBLES), options)

    return parse_bms


def _sources(*quarantines: pd.DataFrame) -> set[str]:
    """The ``file:row`` sources of quarantine entries."""
    return {f"{q.file}:{q.row}" for part in quarantines for q in part.itertuples()}


def _key(names: pd.Series) -> pd.Series:
    return names.astype(str).str.strip().str.casefold()


def _accounts(entities: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """This PSA's accounts: client_id, client_name and the name key (``_key``)."""
    clients = entities.get(CLIENTS.name)
    if clients is None or "psa" not in clients:
        return pd.DataFrame({"client_id": [], "client_name": [], "_key": []}, dtype=object)
    own = clients[clients["psa"].eq(FAMILY)].drop_duplicates("client_id")
    return own[["client_id", "client_name"]].assign(_key=_key(own["client_name"]))


def _link_promised(entities: Mapping[str, pd.DataFrame]):  # type: ignore[no-untyped-def]
    """(promised rows, kept contract services, quarantine)."""
    services = entities.get(SERVICES)
    if services is None or services.empty:
        return PROMISED.empty(), services, concat_quarantine()
    contracts = reference_table(
        entities.get(CONTRACTS), "contract_id",
        ["contract_id", "account_name", "start_date", "end_date"], dates=["start_date", "end_date"],
    )
    rows, kept, q_contract = join_referenced(
        services, contracts, "contract_id",
        "ContractId {value} matches no loaded Kaseya BMS contract "
        "(GET /v2/finance/contracts/summary)",
    )
    accounts = _accounts(entities)
    counts = accounts["_key"].value_counts()
    rows["_key"] = _key(rows["account_name"])
    unknown = ~rows["_key"].isin(counts.index)
    hint = "" if len(accounts) else " (no accounts file is loaded: GET /v2/crm/accounts/summary)"
    rows, q_unknown = quarantine_where(
        rows, unknown, QuarantineReason.UNKNOWN_REFERENCE, "account_name",
        "the contract's AccountName '{value}' matches no loaded Kaseya BMS account" + hint,
    )
    rows, q_twice = quarantine_where(
        rows, rows["_key"].map(counts).gt(1), QuarantineReason.UNKNOWN_REFERENCE, "account_name",
        "the contract's AccountName '{value}' matches several Kaseya BMS accounts",
    )
    one = accounts.drop_duplicates("_key").set_index("_key")
    rows = rows.assign(
        client_id=rows["_key"].map(one["client_id"]),
        client_name=rows["_key"].map(one["client_name"]),
        agreement_id=rows["contract_id"],
        product_id=rows["service_id"],
        description=first_filled(rows["service_name"], rows["service_description"]),
        quantity=rows["units"].astype("int64"),
        effective_date=rows["effective_date"].fillna(rows["start_date"]),
        cancelled_date=rows["end_date"],
        billable=True,
    )
    kept = kept[~kept["source"].isin(_sources(q_unknown, q_twice))]
    return PROMISED.conform(rows), kept, concat_quarantine(q_contract, q_unknown, q_twice)


def _product_ids(lines: pd.DataFrame, entities: Mapping[str, pd.DataFrame]) -> pd.Series:
    """ServiceId of each invoice line: by name within its contract, else in the catalogue."""
    name = _key(lines["name"])
    found = pd.Series(pd.NA, index=lines.index, dtype=object)
    services = entities.get(SERVICES)
    if services is not None and not services.empty:
        keyed = services.assign(_k=services["contract_id"] + "|" + _key(services["service_name"]))
        unique = keyed.drop_duplicates(["_k", "service_id"]).drop_duplicates("_k", keep=False)
        found = (lines["contract_id"] + "|" + name).map(unique.set_index("_k")["service_id"])
        found = found.astype(object)
    catalogue = entities.get(CATALOGUE.name)
    if catalogue is not None and "psa" in catalogue:
        own = catalogue[catalogue["psa"].eq(FAMILY)].assign(_k=lambda c: _key(c["description"]))
        unique = own.drop_duplicates(["_k", "product_id"]).drop_duplicates("_k", keep=False)
        found = found.fillna(name.map(unique.set_index("_k")["product_id"]).astype(object))
    return found.astype(object).fillna("")


def _link_billed(entities: Mapping[str, pd.DataFrame]):  # type: ignore[no-untyped-def]
    """(billed rows, kept invoice lines, quarantine)."""
    lines = entities.get(INVOICE_LINES)
    if lines is None or lines.empty:
        return BILLED.empty(), lines, concat_quarantine()
    dated = ["invoice_date", "period_start", "period_end"]
    invoices = reference_table(
        entities.get(INVOICES), "invoice_id",
        ["invoice_id", "invoice_number", "account_id", *dated], dates=dated,
    )
    rows, kept, q_invoice = join_referenced(
        lines, invoices, "invoice_id",
        "InvoiceId {value} matches no loaded Kaseya BMS invoice (GET /v2/finance/invoices/summary)",
    )
    rows["product_id"] = _product_ids(rows, entities)
    rows, q_product = quarantine_where(
        rows, rows["product_id"].eq(""), QuarantineReason.UNKNOWN_REFERENCE, "name",
        "invoice line '{value}' names no service of its contract nor of the loaded service list",
    )
    rows = rows.assign(
        client_id=rows["account_id"],
        invoice_number=first_filled(rows["invoice_number"], rows["line_invoice_number"]),
        description=first_filled(rows["name"], rows["line_description"]),
        amount=rows["total_price"].fillna(line_amount(rows["quantity"], rows["unit_price"])),
    )
    kept = kept[~kept["source"].isin(_sources(q_product))]
    return BILLED.conform(rows), kept, concat_quarantine(q_invoice, q_product)


def link(entities: Mapping[str, pd.DataFrame], options: LoadOptions) -> LinkResult:
    """Build PROMISED from contract services and BILLED from invoice lines.

    Returns:
        LinkResult with ``promised``, ``billed`` and the services / invoice-line tables without
        the rows quarantined (unknown contract, account, invoice or service).
    """
    promised, services, q_promised = _link_promised(entities)
    billed, lines, q_billed = _link_billed(entities)
    tables: dict[str, pd.DataFrame] = {"promised": promised, "billed": billed}
    if services is not None:
        tables[SERVICES] = services
    if lines is not None:
        tables[INVOICE_LINES] = lines
    return LinkResult(tables, concat_quarantine(q_promised, q_billed))


_JSON = frozenset({"json"})
_RESULT = "Result"
_format = partial(SourceFormat, kinds=_JSON)

FORMATS: tuple[SourceFormat, ...] = (
    _format(
        "kaseya_bms_accounts", CLIENTS.name,
        frozenset({"Id", "AccountName", "AccountCode", "IsBilling"}),
        _bms(ACCOUNT_FIELDS, psa_marker=True), container=_RESULT, record_id="Id",
        description="Kaseya BMS GET /v2/crm/accounts/summary (client_id = Id)",
    ),
    _format(
        "kaseya_bms_contracts", CONTRACTS,
        frozenset({"Id", "ContractName", "AccountName", "ContractType", "BillingCycle"}),
        _bms(CONTRACT_FIELDS), container=_RESULT, record_id="Id",
        description="Kaseya BMS GET /v2/finance/contracts/summary",
    ),
    _format(
        "kaseya_bms_contract_services", SERVICES,
        frozenset({"ServiceId", "ContractId", "Units", "UnitPrice", "EffectiveDate"}),
        _bms(SERVICE_FIELDS, currency=True), record_id="Id",
        description="Kaseya BMS recurring services of contracts (Result.Services or a Result list)",
    ),
    _format(
        "kaseya_bms_invoices", INVOICES,
        frozenset({"Id", "InvoiceNumber", "AccountId", "InvoiceDate", "GrandTotal"}),
        _bms(INVOICE_FIELDS), container=_RESULT, record_id="Id",
        excludes=frozenset({"InvoiceId"}),
        description="Kaseya BMS GET /v2/finance/invoices/summary (headers)",
    ),
    _format(
        "kaseya_bms_invoice_lines", INVOICE_LINES,
        frozenset({"Id", "InvoiceId", "Qty", "UnitPrice", "TotalPrice", "ContractId"}),
        _bms(LINE_FIELDS, currency=True), record_id="Id",
        description="Kaseya BMS POST /v2/finance/invoices/details (invoice lines)",
    ),
    _format(
        "kaseya_bms_services", CATALOGUE.name,
        frozenset({"Id", "Name", "UnitCost", "UnitPrice", "IsTaxable"}),
        _bms(CATALOGUE_FIELDS, psa_marker=True, currency=True), container=_RESULT,
        record_id="Id", excludes=frozenset({"ServiceId", "ContractId", "InvoiceId"}),
        description="Kaseya BMS services list (catalogue prices; product_id = Id)",
    ),
)

LINKER = Linker(FAMILY, frozenset({CONTRACTS, SERVICES, INVOICES, INVOICE_LINES}), link)
