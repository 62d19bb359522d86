"""HaloPSA REST exports: clients, items, recurring invoices and invoices with their lines.

Each file is a list response as Halo's API returns it: ``GET /Client`` -> ``{"record_count",
"clients": [...]}``, ``GET /Item`` -> ``{"record_count", "items": [...]}``,
``GET /RecurringInvoice`` and ``GET /Invoice`` (``includelines=true``) -> ``{"record_count",
"invoices": [...]}``, each invoice with its nested ``lines`` (see
:mod:`recon_helpers.ingest.loaders.halopsa_lines`). Field names are Halo's lower-case ones
(``invoicenumber`` beside ``invoice_date``; the item id on a line is ``_itemid``).

Keys: client_id = Halo client ``id`` (the invoice header's ``client_id``); product_id = the
line's ``_itemid``, the Halo Item ``id``, on recurring invoice lines and invoice lines alike
(``item_code`` is the item's code copied onto the line: shown, never a key).

The LINKER turns service lines into PROMISED rows (recurring invoices: ``qty_order`` at
``unit_price``, live from the line's ``startdate`` (else the header's) to its ``enddate``
(else the header's), inclusive) and BILLED rows (invoices: ``qty_order``, ``unit_price``,
amount ``net_amount`` (else quantity x price), number ``invoicenumber``, date
``invoice_date``, period ``period_start_date``..``period_end_date``).

Decisions:
    * Recurring invoices and invoices share Halo's ``InvoiceHeader`` schema and envelope, so
      a header's ``is_recurring_invoice`` decides which side it is on; only where it is
      empty does the detected format (``halopsa_recurring_invoices`` by its
      ``nextcreationdate``, ``halopsa_invoices`` by ``invoicenumber`` + ``invoice_date``)
      decide. Name the format in recon.toml for a file without either.
    * Halo dates are ISO date-times, mostly without offset: the date as written (``iso``).
    * Currency: the header's ``currency`` or ``currency_code_name`` when it is a three-letter
      code, else the file's (recon.toml) currency (``currency_code`` is an internal id).
    * The pro-rata fields (``prorata_next_invoice``, ``prorata_quantity``,
      ``prorata_unit_price``) are read and checked but change no quantity: they describe a
      charge Halo adds to the next invoice, and the month rule prorates lines by their dates.
    * A line's quantity is ``qty_order`` as saved, also where Halo computes it from linked
      users or assets (``quantity_users`` etc. are not re-counted).
    * With a HaloPSA clients file loaded, a header whose ``client_id`` is not in it is
      ``unknown_reference`` (every line of it).
    * Items: the list price is ``recurringprice`` for a recurring item (``isrecurringitem``)
      that has one, else ``baseprice``; the cost likewise ``recurringcost`` / ``costprice``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import pandas as pd

from recon_helpers.core.schemas import (
    BILLED,
    CATALOGUE,
    CLIENTS,
    PROMISED,
    QTY_SCALE,
    QuarantineReason,
)
from recon_helpers.ingest.loaders.base import Linker, LinkResult, SourceFormat
from recon_helpers.ingest.loaders.connectwise import mul_div_round
from recon_helpers.ingest.loaders.halopsa_lines import explode_lines
from recon_helpers.ingest.loaders.linking import concat_quarantine, psa_parser, quarantine_where
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions, convert, split_bad

FAMILY = "halopsa"
LINES = "halopsa.invoice_lines"

CLIENT_FIELDS = (
    Field("client_id", ("id",), "id", required=True),
    Field("client_name", ("name",), "text"),
)
ITEM_FIELDS = (
    Field("product_id", ("id",), "id", required=True),
    Field("description", ("name",), "text"),
    Field("recurring_item", ("isrecurringitem",), "bool"),
    Field("base_price", ("baseprice",), "money"),
    Field("recurring_price", ("recurringprice",), "money"),
    Field("cost_price", ("costprice",), "money"),
    Field("recurring_cost", ("recurringcost",), "money"),
)
HEADER_FIELDS = (
    Field("header_id", ("id",), "id", required=True),
    Field("client_id", ("client_id",), "id", required=True),
    Field("client_name", ("client_name",), "text"),
    Field("recurring_flag", ("is_recurring_invoice",), "text"),
    Field("invoice_number", ("invoicenumber",), "id"),
    Field("invoice_date", ("invoice_date",), "date"),
    Field("header_start", ("startdate",), "date"),
    Field("header_end", ("enddate",), "date"),
    Field("period_start", ("period_start_date",), "date"),
    Field("period_end", ("period_end_date",), "date"),
    Field("voided", ("voided",), "bool"),
    Field("disabled", ("disabled",), "bool"),
    Field("currency_text", ("currency",), "text"),
    Field("currency_name", ("currency_code_name",), "text"),
    Field("lines_json", ("lines",), "text"),
)
# the header columns every line carries
_HEADER_COLUMNS = (
    "header_id", "client_id", "client_name", "recurring", "invoice_number", "invoice_date",
    "header_start", "header_end", "period_start", "period_end", "voided", "disabled",
    "currency",
)
_TRUE, _FALSE = {"true", "1"}, {"false", "0"}


def _header_currency(headers: pd.DataFrame, options: LoadOptions) -> pd.Series:
    """A three-letter code from ``currency`` or ``currency_code_name``, else the file's."""
    out = pd.Series(options.currency, index=headers.index, dtype=object)
    for col in ("currency_name", "currency_text"):  # the later one wins
        code = headers[col].str.strip()
        iso = code.str.fullmatch(r"[A-Za-z]{3}")
        out = out.mask(iso, code.str.upper())
    return out


def _parse_invoices(raw: RawTable, options: LoadOptions, *, recurring: bool) -> Converted:
    """Headers and their lines; ``recurring`` is the side of headers without the flag."""
    head = convert(raw, HEADER_FIELDS, options)
    headers = head.frame
    flag = headers["recurring_flag"].str.lower()
    bad_flag = ~flag.isin({"", *_TRUE, *_FALSE})
    checked = split_bad(
        headers,
        [(bad_flag, QuarantineReason.BAD_NUMBER, "is_recurring_invoice",
          headers["recurring_flag"])],
        raw.name,
    )
    headers = checked.frame
    flag = headers["recurring_flag"].str.lower()
    headers["recurring"] = flag.isin(_TRUE) | (flag.eq("") & recurring)
    headers["currency"] = _header_currency(headers, options)
    lines = explode_lines(raw, headers, _HEADER_COLUMNS, options)
    quarantine = concat_quarantine(head.quarantine, checked.quarantine, lines.quarantine)
    return Converted(lines.frame, quarantine)


def _parse_items(raw: RawTable, options: LoadOptions) -> Converted:
    out = psa_parser(ITEM_FIELDS, FAMILY, psa_marker=True, currency=True)(raw, options)
    f = out.frame
    recurring = f["recurring_item"] & f["recurring_price"].notna()
    f["unit_price"] = f["recurring_price"].where(recurring, f["base_price"])
    recurring_cost = f["recurring_item"] & f["recurring_cost"].notna()
    f["unit_cost"] = f["recurring_cost"].where(recurring_cost, f["cost_price"])
    return out


def _client_checked(
    lines: pd.DataFrame, clients: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines whose header's client is a loaded HaloPSA client (when any is), names filled."""
    if clients is None or "psa" not in clients:
        return lines, concat_quarantine()
    own = clients[clients["psa"].eq(FAMILY)].drop_duplicates("client_id")
    if own.empty:
        return lines, concat_quarantine()
    kept, q = quarantine_where(
        lines, ~lines["client_id"].isin(own["client_id"]), QuarantineReason.UNKNOWN_REFERENCE,
        "client_id", "client_id {value} matches no loaded HaloPSA client",
    )
    names = kept["client_id"].map(own.set_index("client_id")["client_name"])
    kept["client_name"] = kept["client_name"].where(kept["client_name"].ne(""), names)
    return kept, q.drop_duplicates(["file", "row"])


def link(entities: Mapping[str, pd.DataFrame], options: LoadOptions) -> LinkResult:
    """PROMISED rows from recurring invoice lines, BILLED rows from invoice lines.

    Returns:
        LinkResult with ``promised``, ``billed`` and the lines without those of headers whose
        client is not loaded (``unknown_reference``).
    """
    lines = entities.get(LINES)
    if lines is None or lines.empty:
        return LinkResult({"promised": PROMISED.empty(), "billed": BILLED.empty()})
    kept, q = _client_checked(lines, entities.get(CLIENTS.name))
    service = kept[kept["line_use"].eq("service")].copy()
    service["product_id"] = service["item_id"]
    text = service["item_description"]
    service["description"] = text.where(text.ne(""), service["item_code"])
    promised = service[service["recurring"]].copy()
    promised["agreement_id"] = promised["header_id"]
    promised["effective_date"] = promised["line_start"].fillna(promised["header_start"])
    promised["cancelled_date"] = promised["line_end"].fillna(promised["header_end"])
    promised["less_included"] = 0
    promised["billable"] = True
    promised["psa"] = FAMILY  # the ids of schemas.PROMISED (Halo is not written back yet)
    promised["psa_agreement_id"] = promised["header_id"]
    promised["psa_line_id"] = promised["line_id"]
    promised["psa_service_id"] = promised["item_id"]
    billed = service[~service["recurring"]].copy()
    billed["invoice_number"] = billed["invoice_number"].where(
        billed["invoice_number"].ne(""), billed["header_id"]
    )
    computed = mul_div_round(billed["quantity"], billed["unit_price"], QTY_SCALE)
    billed["amount"] = billed["net_amount"].fillna(computed)
    tables = {"promised": PROMISED.conform(promised), "billed": BILLED.conform(billed), LINES: kept}
    return LinkResult(tables, concat_quarantine(q))


_JSON = frozenset({"json"})
_parse = partial(psa_parser, family=FAMILY)

FORMATS: tuple[SourceFormat, ...] = (
    SourceFormat(
        "halopsa_clients", CLIENTS.name, frozenset({"id", "name"}),
        _parse(CLIENT_FIELDS, psa_marker=True), kinds=_JSON, container="clients",
        record_id="id", description="HaloPSA /Client list (client_id = id)",
    ),
    SourceFormat(
        "halopsa_items", CATALOGUE.name, frozenset({"id", "name", "baseprice", "costprice"}),
        _parse_items, kinds=_JSON, container="items", record_id="id",
        description="HaloPSA /Item list (product_id = id; list prices)",
    ),
    SourceFormat(
        "halopsa_recurring_invoices", LINES,
        frozenset({"id", "client_id", "nextcreationdate", "lines"}),
        partial(_parse_invoices, recurring=True), kinds=_JSON, container="invoices",
        record_id="id", description="HaloPSA /RecurringInvoice with lines (promised)",
    ),
    SourceFormat(
        "halopsa_invoices", LINES,
        frozenset({"id", "client_id", "invoicenumber", "invoice_date", "lines"}),
        partial(_parse_invoices, recurring=False), kinds=_JSON, container="invoices",
        record_id="id", description="HaloPSA /Invoice with lines (billed)",
    ),
)

LINKER = Linker(FAMILY, frozenset({LINES}), link)
