"""Microsoft Partner Center new-commerce (NCE) invoice reconciliation CSV -> delivered rows.

The file is the portal download "invoice reconciliation" for new-commerce licences (FORMATS.md
1.1): one row per charge (purchase, monthly cycle, seat change, renewal, cancellation) per
customer tenant x product x SKU. Columns are found by name, case-insensitively (``CustomerID``
and ``CustomerId`` alike); their order and any extra columns do not matter.

Keys (SPEC): vendor ``microsoft``, customer ``CustomerId`` (the Entra tenant GUID) /
``CustomerName``, SKU ``ProductId:SkuId``.

Choices a later step relies on:

* quantity is ``BillableQuantity`` (the doc's reconciliation quantity; ``Quantity`` only where
  ``BillableQuantity`` is empty), with its sign. Seat changes write a reversal line for the old
  count and a line for the new count with the same charge type (FORMATS.md 1.4); the reversal
  keeps a positive quantity in some files and only its ``Subtotal`` is negative, so a positive
  quantity with a negative ``Subtotal`` is negated. The lines of one cycle then sum to the new
  count (``addQuantity`` -5 and +7 on top of a cycle charge of 5 give 7).
* unit_cost is ``EffectiveUnitPrice`` (after partner-earned credit, discounts and proration).
  It is quoted in ``PricingCurrency``; where that differs from the billing ``Currency`` it is
  converted as the doc's seat formula does, ``ROUNDDOWN(EffectiveUnitPrice x PCToBCExchangeRate,
  2)``: truncated to the cent, in exact integer arithmetic. Without a rate the cost is left
  empty (unknown) rather than guessed; the row still counts. Usage-priced lines truncate after
  multiplying by the quantity in Microsoft's own totals, so their converted unit cost can be a
  cent below Subtotal / quantity.
* currency is the billing ``Currency`` of each row (else the file's/workspace's currency).
* charge_start / charge_end are ``ChargeStartDate`` / ``ChargeEndDate`` (M/D/YYYY, with or
  without a time; the end is inclusive). NCE cycles run from the purchase day, not the month.
* charge_type is ``ChargeType`` as written (an open, mixed-case vocabulary: ``New``,
  ``cycleCharge``, ``addQuantity``, ``removeQuantity``, ``Renew``, ``Cancel``, ...).

The same line items also arrive from the API: the billed reconciliation export (Graph, v2)
delivers gzip JSON Lines blobs, one line item per line, which ``recon pull`` saves as received
(``*.json.gz``). Their keys are taken to be the file's column names (compared
case-insensitively, so camelCase keys match too; APIS.md marks this unconfirmed). Their dates
may be ISO instead of M/D/YYYY: in a JSON file the first non-empty ``ChargeStartDate`` decides,
and every date of the file is then parsed, and checked, in that one format.

Example:
    >>> from recon_helpers.ingest.loaders import load_file
    >>> load_file(Path("inputs/2026-10/G032145678.csv")).frame[["vendor_sku", "quantity"]]
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd

from recon_helpers.core.schemas import DELIVERED, MONEY_SCALE, QuarantineReason
from recon_helpers.ingest.loaders.amounts import credit_signs
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.loaders.canonical import with_currency
from recon_helpers.ingest.parsing import parse_fixed
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
RATE_SCALE = 10**9  # PCToBCExchangeRate is published with 9 decimals (0.846202666)
CENT = MONEY_SCALE // 100

FIELDS = (
    Field("vendor_customer_id", ("CustomerId", "CustomerTenantId"), "id", required=True),
    Field("vendor_customer_name", ("CustomerName", "CustomerCompanyName"), "text"),
    # Microsoft's ProductId: not a PSA product_id (the SKU key is ProductId:SkuId)
    Field("ms_product_id", ("ProductId",), "id", required=True),
    Field("sku_id", ("SkuId",), "id", required=True),
    Field("sku_name", ("SkuName",), "text"),
    Field("product_name", ("ProductName",), "text"),
    Field("charge_type", ("ChargeType",), "text"),
    Field("billable_quantity", ("BillableQuantity",), "quantity"),
    Field("plain_quantity", ("Quantity",), "quantity"),
    Field("subtotal", ("Subtotal", "PreTaxTotal"), "money"),
    Field("effective_unit_price", ("EffectiveUnitPrice",), "money"),
    Field("currency", ("Currency", "BillingCurrency"), "id"),
    Field("pricing_currency", ("PricingCurrency",), "id"),
    Field("charge_start", ("ChargeStartDate",), "date", date_format="mdy"),
    Field("charge_end", ("ChargeEndDate",), "date", date_format="mdy"),
)
RATE_COLUMNS = ("PCToBCExchangeRate", "PcToBcExchangeRate")
ISO_FIELDS = tuple(replace(f, date_format="iso") if f.kind == "date" else f for f in FIELDS)
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")


def fields_for(raw: RawTable) -> tuple[Field, ...]:
    """FIELDS (M/D/YYYY dates), or ISO_FIELDS for API JSON whose first charge date is ISO."""
    col = raw.column("ChargeStartDate")
    if raw.kind != "json" or col is None:
        return FIELDS
    written = raw.data[col].astype(str).str.strip()
    written = written[written.ne("")]
    if len(written) and _ISO_START.match(written.iloc[0]):
        return ISO_FIELDS
    return FIELDS


def truncate_convert(unit_price: pd.Series, rate: pd.Series) -> pd.Series:
    """``ROUNDDOWN(unit_price x rate, 2)`` in exact integer arithmetic.

    Args:
        unit_price: money fixed point (``1/MONEY_SCALE``), nullable Int64.
        rate: exchange rate fixed point (``1/RATE_SCALE``), nullable Int64, same index.

    Returns:
        Money fixed point (Int64), truncated toward zero to whole cents; ``<NA>`` where either
        input is missing.
    """
    known = unit_price.notna() & rate.notna()
    out = pd.Series(pd.NA, index=unit_price.index, dtype="Int64")
    if not known.any():
        return out
    # Python ints (object dtype): price x rate exceeds int64 for large prices or rates such as
    # JPY per USD, and numpy would wrap silently
    price = pd.Series(
        unit_price[known].astype("int64").tolist(), index=known[known].index, dtype=object
    )
    factor = pd.Series(rate[known].astype("int64").tolist(), index=price.index, dtype=object)
    product = price * factor
    negative = product < 0
    per_cent = CENT * RATE_SCALE
    cents = product.where(~negative, -product) // per_cent  # ROUNDDOWN truncates toward zero
    cents = cents.where(~negative, -cents)
    out[known] = (cents * CENT).astype("int64")
    return out


def _unit_cost(raw: RawTable, frame: pd.DataFrame,
               options: LoadOptions) -> tuple[pd.Series, pd.Series]:
    """Unit cost in the billing currency, and the rows whose exchange rate is malformed."""
    col = raw.column(*RATE_COLUMNS)
    text = raw.data.loc[frame.index, col] if col else pd.Series("", index=frame.index)
    frame["exchange_rate"] = text.astype(object)
    rate, bad = parse_fixed(frame["exchange_rate"], RATE_SCALE,
                            decimal_comma=options.decimal_comma)
    pricing = frame["pricing_currency"].str.upper()
    billing = frame["currency"].str.upper()
    foreign = pricing.ne("") & billing.ne("") & pricing.ne(billing)
    cost = frame["effective_unit_price"].astype("Int64").copy()
    cost[foreign] = truncate_convert(cost[foreign], rate[foreign])
    return cost, bad & foreign


def parse_invoice_recon(raw: RawTable, options: LoadOptions) -> Converted:
    """Parse an NCE invoice reconciliation file into DELIVERED rows (plus ``row``).

    Returns:
        Converted: delivered rows with ``source``; rows without a customer, product, SKU or
        quantity, or with an unparseable number or date, are quarantined.

    Raises:
        InputFileError: ``CustomerId``, ``ProductId`` or ``SkuId`` is missing from the header.
    """
    out = convert(raw, fields_for(raw), options)
    frame = out.frame
    parts = [out.quarantine]

    qty = frame["billable_quantity"].fillna(frame["plain_quantity"])
    frame, q = quarantine_rows(
        frame,
        qty.isna(),
        QuarantineReason.MISSING_VALUE,
        "BillableQuantity and Quantity are both empty",
        "billable_quantity",
    )
    parts.append(q)
    qty = qty[frame.index].astype("int64")
    unit_cost, bad_rate = _unit_cost(raw, frame, options)
    # a reversal line may keep its quantity positive; its Subtotal carries the sign (1.4)
    frame["quantity"], frame["unit_cost"] = credit_signs(qty, unit_cost, frame["subtotal"])
    frame, q = quarantine_rows(
        frame,
        bad_rate,
        QuarantineReason.BAD_NUMBER,
        "PCToBCExchangeRate is not a number with at most 9 decimals",
        "exchange_rate",
    )
    parts.append(q)

    frame["vendor"] = VENDOR
    frame["vendor_sku"] = frame["ms_product_id"] + ":" + frame["sku_id"]
    frame["sku_name"] = frame["sku_name"].where(frame["sku_name"].ne(""), frame["product_name"])
    frame["client_link"] = ""
    frame = with_currency(frame, options)
    quarantine = _identified(raw, pd.concat(parts, ignore_index=True))
    return Converted(delivered_frame(frame), quarantine)


def _identified(raw: RawTable, quarantine: pd.DataFrame) -> pd.DataFrame:
    """The quarantine with vendor and SKU (``ProductId:SkuId`` as written) filled in."""
    q = tag_quarantine(quarantine, vendor=VENDOR)
    product, sku = raw.column("ProductId"), raw.column("SkuId")
    if q.empty or product is None or sku is None:
        return q
    written = pd.DataFrame({
        "row": raw.rows.to_numpy(),
        "_sku": (raw.data[product].astype(str).str.strip() + ":"
                 + raw.data[sku].astype(str).str.strip()).to_numpy(),
    })
    q = q.merge(written, on="row", how="left")
    q["vendor_sku"] = q["vendor_sku"].where(q["vendor_sku"].ne(""), q["_sku"].fillna(""))
    return q.drop(columns=["_sku"])


def delivered_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the DELIVERED columns and dtypes, plus its ``row`` numbers."""
    rows = frame["row"].to_numpy()
    out = DELIVERED.conform(frame)
    out["row"] = rows
    return out


FORMATS = (
    SourceFormat(
        name="microsoft_nce_invoice_recon",
        entity="delivered",
        signature=frozenset(
            {
                "CustomerId",
                "CustomerName",
                "ProductId",
                "SkuId",
                "ChargeType",
                "ChargeStartDate",
                "ChargeEndDate",
                "BillableQuantity",
                "EffectiveUnitPrice",
            }
        ),
        parse=parse_invoice_recon,
        kinds=frozenset({"csv", "xlsx", "json"}),  # json: the API's JSON Lines
        # the daily rated usage file (FORMATS.md 1.2) shares the customer/product columns
        excludes=frozenset({"UsageDate", "MeterId"}),
        document_id="InvoiceNumber",
        slashed_dates="mdy",
        description="Microsoft Partner Center new-commerce invoice reconciliation (CSV, or the "
        "billed reconciliation export's JSON Lines)",
    ),
)
