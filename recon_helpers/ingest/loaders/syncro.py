"""Syncro (SyncroMSP) REST exports: customers, recurring invoice schedules, invoices.

Each file is a list response as the API returns it (``GET /customers`` ->
``{"customers": [...], "meta": {...}}``, ``GET /schedules`` -> ``{"schedules": [...]}``,
invoices ``{"invoices": [...]}``), field names in snake_case (FORMATS.md 5.2, APIS.md 6.3).
Schedules and invoices carry their lines as a nested list (``line_items``; schedules may call
it ``schedule_line_items``, unconfirmed), read by :mod:`recon_helpers.ingest.loaders.nested`: one
schedule or invoice is one row of the file.

Keys: client_id = customer ``id`` (schedules and invoices: ``customer_id``), client_name =
``business_then_name`` (else ``business_name``, else ``fullname``); product_id = the line's
``product_id``.

Decisions:
    * Schedule line prices are integer cents (``retail_cents``, ``cost_cents``): divided by 100
      exactly; a value that is not a whole number of cents is quarantined (``bad_number``).
      Invoice line prices (``price``, ``cost``) are decimal amounts.
    * A schedule promises its recurring lines: ``one_time_charge`` lines (charged once on the
      next invoice) and lines without a ``product_id`` (free text) promise nothing comparable;
      they stay in the ``syncro.schedule_lines`` table. A paused schedule still promises: when
      the month's invoices are loaded, its missing invoice is an ``invoice_mismatch``.
    * A schedule has no start or end: its lines count from the line's ``created_at``, else the
      schedule's, and never end (Syncro deletes a schedule rather than ending it).
    * Invoice line amount = quantity x price x (1 - ``discount_percent``/100), rounded half
      away from zero to the cent; unit_price is the undiscounted ``price``, so a discount shows
      as an ``invoice_mismatch`` the auditor can accept. Lines without a ``product_id`` (labour,
      free text) are not billed services; they stay in ``syncro.invoice_lines``.
    * Negative quantities (credits) keep their sign. Currency is the file's (recon.toml)
      currency: Syncro carries none.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from recon_helpers.core.schemas import BILLED, CLIENTS, PROMISED, QuarantineReason
from recon_helpers.ingest.loaders.amounts import first_filled, from_cents, line_amount
from recon_helpers.ingest.loaders.base import Linker, LinkResult, SourceFormat
from recon_helpers.ingest.loaders.canonical import with_currency
from recon_helpers.ingest.loaders.linking import concat_quarantine, psa_parser, quarantine_where
from recon_helpers.ingest.loaders.nested import parse_with_lines
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions

FAMILY = "syncro"
SCHEDULE_LINES = "syncro.schedule_lines"
INVOICE_LINES = "syncro.invoice_lines"

CUSTOMER_FIELDS = (
    Field("client_id", ("id",), "id", required=True),
    Field("business_then_name", ("business_then_name",), "text"),
    Field("business_name", ("business_name",), "text"),
    Field("fullname", ("fullname",), "text"),
)
SCHEDULE_FIELDS = (
    Field("schedule_id", ("id",), "id", required=True),
    Field("customer_id", ("customer_id",), "id", required=True),
    Field("schedule_name", ("name",), "text"),
    Field("frequency", ("frequency",), "text"),
    Field("next_run", ("next_run",), "date"),
    Field("paused", ("paused",), "bool"),
    Field("schedule_created", ("created_at",), "date"),
)
SCHEDULE_LINE_FIELDS = (
    Field("line_id", ("id",), "id"),
    Field("product_id", ("product_id",), "id"),
    Field("line_name", ("name",), "text"),
    Field("line_description", ("description",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("retail_cents", ("retail_cents",), "money", required=True),
    Field("cost_cents", ("cost_cents",), "money"),
    Field("one_time_charge", ("one_time_charge",), "bool"),
    Field("line_created", ("created_at",), "date"),
)
INVOICE_FIELDS = (
    Field("invoice_id", ("id",), "id", required=True),
    Field("customer_id", ("customer_id", "customer.id"), "id", required=True),
    Field("customer_name", ("customer_business_then_name",), "text"),
    Field("number", ("number",), "id"),
    Field("invoice_date", ("date",), "date"),
)
INVOICE_LINE_FIELDS = (
    Field("line_id", ("id",), "id"),
    Field("product_id", ("product_id",), "id"),
    Field("item", ("item",), "text"),
    Field("line_name", ("name",), "text"),
    Field("quantity", ("quantity",), "quantity", required=True),
    Field("price", ("price",), "money", required=True),
    Field("cost", ("cost",), "money"),
    Field("discount_percent", ("discount_percent",), "quantity"),
)


def parse_customers(raw: RawTable, options: LoadOptions) -> Converted:
    """Syncro customers -> CLIENTS rows (``client_name``: business name, else the person's)."""
    out = psa_parser(CUSTOMER_FIELDS, FAMILY, psa_marker=True)(raw, options)
    frame = out.frame
    frame["client_name"] = first_filled(
        frame["business_then_name"], frame["business_name"], frame["fullname"]
    )
    out.frame = frame.drop(columns=["business_then_name", "business_name", "fullname"])
    return out


def parse_schedules(raw: RawTable, options: LoadOptions) -> Converted:
    """Schedules with their line items -> ``syncro.schedule_lines`` (cents made money).

    Returns:
        Converted: one row per line (``line`` >= 1) or per schedule without lines (0);
        schedules with a bad line, or a price that is not whole cents, are quarantined.
    """
    out = parse_with_lines(
        raw, SCHEDULE_FIELDS, ("line_items", "schedule_line_items"), SCHEDULE_LINE_FIELDS,
        options,
    )
    frame, parts = out.frame, [out.quarantine]
    for cents, target in (("retail_cents", "unit_price"), ("cost_cents", "unit_cost")):
        frame[target], fractional = from_cents(frame[cents])
        bad_rows = frame.loc[fractional, "row"]
        frame, q = quarantine_where(
            frame, fractional, QuarantineReason.BAD_NUMBER, cents,
            f"{cents} is not a whole number of cents (a price in dollars in a cents field?)",
        )
        q["value"] = (q["value"].astype("Int64") // 1_000_000).astype(str) + " (as cents)"
        frame = frame[~frame["row"].isin(bad_rows)]  # the schedule's other lines go with it
        parts.append(q)
    frame["currency"] = ""
    return Converted(with_currency(frame, options), concat_quarantine(*parts))


def parse_invoices(raw: RawTable, options: LoadOptions) -> Converted:
    """Invoices with their line items -> ``syncro.invoice_lines`` (line amounts computed)."""
    out = parse_with_lines(raw, INVOICE_FIELDS, ("line_items",), INVOICE_LINE_FIELDS, options)
    frame = out.frame
    frame["amount"] = line_amount(frame["quantity"], frame["price"], frame["discount_percent"])
    frame["currency"] = ""
    out.frame = with_currency(frame, options)
    return out


def _names(entities: Mapping[str, pd.DataFrame]) -> pd.Series:
    clients = entities.get(CLIENTS.name)
    if clients is None or "psa" not in clients:
        return pd.Series(dtype=object)
    own = clients[clients["psa"].eq(FAMILY)].drop_duplicates("client_id")
    return own.set_index("client_id")["client_name"]


def _promised(lines: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    rows = lines[lines["line"].gt(0) & ~lines["one_time_charge"] & lines["product_id"].ne("")]
    rows = rows.assign(
        client_id=rows["customer_id"],
        client_name=rows["customer_id"].map(names).astype(object).fillna(""),
        agreement_id=rows["schedule_id"],
        description=first_filled(rows["line_name"], rows["line_description"]),
        quantity=rows["quantity"].astype("int64"),
        effective_date=rows["line_created"].fillna(rows["schedule_created"]),
        cancelled_date=pd.NaT,
        billable=True,
    )
    return PROMISED.conform(rows)


def _billed(lines: pd.DataFrame) -> pd.DataFrame:
    rows = lines[lines["line"].gt(0) & lines["product_id"].ne("")]
    rows = rows.assign(
        client_id=rows["customer_id"],
        invoice_number=first_filled(rows["number"], rows["invoice_id"]),
        description=first_filled(rows["item"], rows["line_name"]),
        quantity=rows["quantity"].astype("int64"),
        unit_price=rows["price"],
    )
    return BILLED.conform(rows)


def link(entities: Mapping[str, pd.DataFrame], options: LoadOptions) -> LinkResult:
    """PROMISED from schedule lines, BILLED from invoice lines, names from the customers.

    Returns:
        LinkResult with ``promised`` and ``billed``; the line tables are kept as loaded.
    """
    names = _names(entities)
    tables: dict[str, pd.DataFrame] = {}
    schedules = entities.get(SCHEDULE_LINES)
    if schedules is not None and not schedules.empty:
        tables["promised"] = _promised(schedules, names)
    invoices = entities.get(INVOICE_LINES)
    if invoices is not None and not invoices.empty:
        tables["billed"] = _billed(invoices)
    return LinkResult(tables)


_JSON = frozenset({"json"})

FORMATS: tuple[SourceFormat, ...] = (
    SourceFormat(
        "syncro_customers", CLIENTS.name, frozenset({"id", "business_then_name", "fullname"}),
        parse_customers, kinds=_JSON, container="customers", record_id="id",
        description="Syncro GET /customers (client_id = id)",
    ),
    SourceFormat(
        "syncro_schedules", SCHEDULE_LINES,
        frozenset({"id", "customer_id", "frequency", "next_run"}),
        parse_schedules, kinds=_JSON, container="schedules", record_id="id",
        description="Syncro GET /schedules with line items (recurring invoices; cents)",
    ),
    SourceFormat(
        "syncro_invoices", INVOICE_LINES,
        frozenset({"id", "customer_id", "number", "date", "line_items"}),
        parse_invoices, kinds=_JSON, container="invoices", record_id="id",
        description="Syncro invoices with line items",
    ),
)

LINKER = Linker(FAMILY, frozenset({SCHEDULE_LINES, INVOICE_LINES}), link)
