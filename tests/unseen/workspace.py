"""A whole workspace on disk: three months of inputs, the mapping files, recon.toml.

The target month is :data:`PERIOD`; :data:`EARLIER` are the two months before it (the same
book in its end-of-month state), so that "a source present in earlier months" means
something. Variants replace, add or remove single files of the target month.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path

from tests.unseen import write_microsoft, write_pax8, write_psa, write_snapshots
from tests.unseen.model import Month, month_bounds
from tests.unseen.plan import build_month
from tests.unseen.write_microsoft import mdy

PERIOD = "2026-10"
EARLIER = ("2026-08", "2026-09")
SETTINGS = 'currency = "USD"\nmonth_rule = "month_end"\n'


def month_files(month: Month, *, billed: str = "connectwise") -> dict[str, bytes]:
    """Every export of one month: {file name: bytes}.

    Args:
        billed: ``"connectwise"`` (invoices + invoice products) or ``"canonical"`` (the
            invoice lines as SPEC's canonical billed CSV, ``billed.csv``).
    """
    files = write_microsoft.write(month) | write_pax8.write(month) | write_snapshots.write(month)
    files |= write_psa.write(month, invoices_too=billed == "connectwise")
    if billed == "canonical":
        files["billed.csv"] = canonical_billed(month)
    return files


BILLED_COLUMNS = ("client_id", "invoice_number", "invoice_date", "product_id", "description",
                  "quantity", "unit_price", "amount", "currency", "period_start", "period_end")


def canonical_billed(month: Month, *, money: str = "{:.2f}", day: str = "iso") -> bytes:
    """SPEC's canonical billed CSV of the month's invoice lines.

    Args:
        money: format of unit_price and amount (``"{:,.2f}"`` is a spreadsheet's 1,500.00).
        day: ``"iso"`` (SPEC's YYYY-MM-DD) or ``"mdy"`` (a US spreadsheet's M/D/YYYY).
    """
    first, last = month_bounds(month.period)
    show = (lambda d: d.isoformat()) if day == "iso" else mdy
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(BILLED_COLUMNS)
    for line in month.invoice_lines:
        writer.writerow([
            line.client_id, write_psa.invoice_number(month, line.client_id),
            show(month.invoice_date), line.product_id,
            month.products[line.product_id].description, f"{line.qty:f}",
            money.format(line.price), money.format(line.amount), "USD", show(first), show(last),
        ])
    return buf.getvalue().encode("utf-8")


@dataclass(frozen=True)
class Book:
    """A written workspace and the months it was written from."""

    root: Path  # the workspace folder (``--workspace``)
    months: dict[str, Month]

    @property
    def target(self) -> Month:
        """The month under test."""
        return self.months[PERIOD]

    def inputs(self, period: str = PERIOD) -> Path:
        """inputs/<period>/."""
        return self.root / "inputs" / period

    def file(self, name: str, period: str = PERIOD) -> Path:
        """One input file of a month."""
        return self.inputs(period) / name

    @property
    def reports(self) -> Path:
        """Where reports go (``--reports``)."""
        return self.root.parent / "reports"


def _csv(header: tuple[str, ...], rows: object) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)  # type: ignore[arg-type]
    return buf.getvalue().encode("utf-8")


def mapping_files(month: Month) -> dict[str, bytes]:
    """mappings/clients.csv, products.csv (and ignore.csv when the month ignores someone)."""
    out = {
        "clients.csv": _csv(("vendor", "vendor_customer_id", "vendor_customer_name", "client_id"),
                            month.client_map),
        "products.csv": _csv(("vendor", "vendor_sku", "product_id", "units_per_product"),
                             [(*row, "1") for row in month.product_map]),
    }
    if month.ignore:
        out["ignore.csv"] = _csv(
            ("vendor", "vendor_customer_id", "vendor_customer_name", "reason"), month.ignore)
    return out


@cache
def earlier_month(period: str) -> Month:
    """An earlier month: the same book in its end-of-month state (built once per session)."""
    return build_month(period, events=False)


@cache
def earlier_files() -> dict[str, dict[str, bytes]]:
    """The earlier months' files (the same for every variant: built once per session)."""
    return {p: month_files(earlier_month(p)) for p in EARLIER}


def write_workspace(
    root: Path,
    target: Month,
    *,
    files: Mapping[str, bytes | None] | None = None,
    settings: str = SETTINGS,
    billed: str = "connectwise",
    earlier: bool = True,
) -> Book:
    """Write the workspace of ``target`` under ``root`` (the workspace folder itself).

    Args:
        files: target-month files to add or replace ({name: bytes}) or remove ({name: None}).
        settings: recon.toml text.
        billed: see :func:`month_files`.
        earlier: also write the two earlier months.
    """
    months = {PERIOD: target}
    written = {PERIOD: month_files(target, billed=billed)}
    if earlier:
        written |= earlier_files()
        months |= {p: earlier_month(p) for p in EARLIER}
    for name, data in (files or {}).items():
        if data is None:
            written[PERIOD].pop(name)
        else:
            written[PERIOD][name] = data
    for period, content in written.items():
        folder = root / "inputs" / period
        folder.mkdir(parents=True, exist_ok=True)
        # downloaded on the 2nd of the next month, as an auditor does (not "now")
        when = datetime.combine(month_bounds(period)[1] + timedelta(days=2), time(9)).timestamp()
        for name, data in content.items():
            (folder / name).write_bytes(data)
            os.utime(folder / name, (when, when))
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    for name, data in mapping_files(target).items():
        (root / "mappings" / name).write_bytes(data)
    (root / "recon.toml").write_text(settings, encoding="utf-8")
    return Book(root, months)


@cache
def base_month() -> Month:
    """The target month with the names today's normalisation already handles."""
    return build_month(PERIOD)


@cache
def base_files() -> dict[str, bytes]:
    """The base target month's files (damage cases start from these bytes)."""
    return month_files(base_month())
