"""Turning export files into the shapes the APIs return them in (for the fake server).

Microsoft's billed reconciliation export delivers the invoice reconciliation line items as
gzip JSON Lines: one object per line with the file's column names (APIS.md section 4; the key
names are unconfirmed), numbers as JSON numbers, dates as ISO date-times, the JSON-array
columns as arrays. :func:`nce_json_lines` writes a reconciliation CSV in that shape, keeping
every number exactly as written.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re

NUMBERS = {"UnitPrice", "Quantity", "Subtotal", "TaxTotal", "Total", "EffectiveUnitPrice",
           "BillableQuantity", "PCToBCExchangeRate"}
DATES = {"OrderDate", "ChargeStartDate", "ChargeEndDate", "SubscriptionStartDate",
         "SubscriptionEndDate", "PCToBCExchangeRateDate"}
ARRAYS = {"PriceAdjustmentDescription", "ProductQualifiers"}
_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2}))?$")
_NUMBER = re.compile(r"-?\d+(\.\d+)?$")


def _iso(text: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text}T00:00:00Z"
    m = _MDY.match(text)
    assert m, text
    month, day, year, hour, minute = m.groups()
    return (f"{year}-{int(month):02d}-{int(day):02d}T{int(hour or 0):02d}:"
            f"{int(minute or 0):02d}:00Z")


def _value(column: str, text: str, iso_dates: bool) -> str:
    if text == "":
        return "null"
    if column in NUMBERS and _NUMBER.match(text):
        return text  # the number exactly as written
    if column in DATES and iso_dates:
        return json.dumps(_iso(text))
    if column in ARRAYS and text.startswith("["):
        return json.dumps(json.loads(text), ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False)


def nce_json_lines(csv_text: str, iso_dates: bool = True) -> bytes:
    """A reconciliation CSV as JSON Lines (UTF-8 bytes, one line item per line).

    ``iso_dates=False`` keeps the dates as the file writes them (M/D/YYYY), so a date the
    file gets wrong on purpose stays wrong.
    """
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff"), newline=""))
    header = next(reader)
    lines = []
    for row in reader:
        if not any(row):
            continue
        pairs = (f"{json.dumps(c)}:{_value(c, v, iso_dates)}"
                 for c, v in zip(header, row, strict=True))
        lines.append("{" + ",".join(pairs) + "}")
    return ("\n".join(lines) + "\n").encode()


def nce_blob(csv_text: str, iso_dates: bool = True) -> bytes:
    """The gzip blob Microsoft's export serves for those line items."""
    return gzip.compress(nce_json_lines(csv_text, iso_dates), mtime=0)
