"""Files as they arrive after a spreadsheet re-save, a second download or a cut connection.

Each function takes the bytes a writer produced and returns the bytes an auditor would find
in the inputs folder.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from decimal import Decimal

from tests.unseen.write_microsoft import COLUMNS, DATE_COLUMNS, NUMBER_COLUMNS

_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(.*)$")


def read_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV written by the writers (UTF-8, BOM optional)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def write_csv(header: list[str], rows: list[list[str]], *, delimiter: str = ",",
              bom: bool = True) -> bytes:
    """CSV bytes the way Excel saves "CSV UTF-8": BOM, CRLF, quotes only where needed."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def _map_columns(data: bytes, columns: tuple[str, ...], func: Callable[[str], str],
                 delimiter: str = ",") -> bytes:
    header, rows = read_csv(data)
    at = [header.index(c) for c in columns if c in header]
    for row in rows:
        for i in at:
            row[i] = func(row[i])
    return write_csv(header, rows, delimiter=delimiter)


def day_first(value: str) -> str:
    """M/D/YYYY[ time] -> D/M/YYYY[ time] (a UK or Australian Excel re-save)."""
    m = _SLASHED.match(value)
    return f"{m[2]}/{m[1]}/{m[3]}{m[4]}" if m else value


def resave_day_first(data: bytes) -> bytes:
    """A Partner Center CSV opened and saved by Excel in a day-first locale: 15/10/2026."""
    return _map_columns(data, DATE_COLUMNS, day_first)


def decimal_comma(value: str) -> str:
    """1234.5 -> 1234,5 (a continental European Excel re-save)."""
    return value.replace(".", ",")


def resave_semicolon_decimal_comma(data: bytes) -> bytes:
    """A Partner Center CSV saved by Excel in a German/French locale: ``;`` and ``12,50``."""
    return _map_columns(data, NUMBER_COLUMNS, decimal_comma, delimiter=";")


def cut_mid_record(data: bytes) -> bytes:
    """A download cut off inside the last record (in its SubscriptionId), no final newline."""
    lines = data.split(b"\r\n")
    assert lines[-1] == b"", "the file ends with a line break"
    _, rows = read_csv(data)
    # SubscriptionId: a GUID after the quoted PriceAdjustmentDescription, so no quote is open
    sub = rows[-1][COLUMNS.index("SubscriptionId")].encode()
    at = lines[-2].index(sub)
    return b"\r\n".join([*lines[:-2], lines[-2][: at + len(sub) // 2]])


def cut_at_line_end(data: bytes, rows: int) -> bytes:
    """A download cut off at a line break, ``rows`` records short."""
    lines = data.split(b"\r\n")
    return b"\r\n".join([*lines[: -1 - rows], b""])


def resave_canonical_billed(data: bytes) -> bytes:
    """SPEC's canonical billed CSV re-saved by US Excel: M/D/YYYY dates, 1,500.00 amounts."""
    header, rows = read_csv(data)
    dates = [header.index(c) for c in ("invoice_date", "period_start", "period_end")]
    money = [header.index(c) for c in ("unit_price", "amount")]
    for row in rows:
        for i in dates:
            y, m, d = row[i].split("-")
            row[i] = f"{int(m)}/{int(d)}/{y}"
        for i in money:
            row[i] = f"{Decimal(row[i]):,.2f}"
    return write_csv(header, rows, bom=False)


def negate_credit_prices(data: bytes) -> bytes:
    """Pax8 items whose quantity is negative also get a negative price and cost."""
    doc = json.loads(data)
    for item in doc["content"]:
        if item["quantity"] < 0:
            item["price"], item["cost"] = -abs(item["price"]), -abs(item["cost"])
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def pax8_first_page(data: bytes, size: int) -> bytes:
    """Only the first page of a Pax8 listing that has more (``page`` says so)."""
    doc = json.loads(data)
    total = len(doc["content"])
    doc["content"] = doc["content"][:size]
    doc["page"] = {"size": size, "totalElements": total, "totalPages": -(-total // size),
                   "number": 0}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def pax8_pages(data: bytes, size: int) -> list[bytes]:
    """Every page of a Pax8 listing, each as the API returns it."""
    doc = json.loads(data)
    content, total = doc["content"], len(doc["content"])
    pages = -(-total // size)
    return [(json.dumps({"content": content[n * size:(n + 1) * size],
                         "page": {"size": size, "totalElements": total, "totalPages": pages,
                                  "number": n}}, indent=2, ensure_ascii=False) + "\n").encode()
            for n in range(pages)]


def pax8_redownload(data: bytes) -> bytes:
    """The same Pax8 items saved again later: compact JSON, one quantity corrected."""
    doc = json.loads(data)
    doc["content"][0]["quantity"] += 1
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")
