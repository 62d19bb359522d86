"""Canonical tables, declared once: columns, kinds, fixed-point scales and quarantine reasons.

Every loader produces these tables and every later step consumes them, so column names are
referenced through the constants here rather than retyped.

Exactness: quantities are ``int64`` fixed point in units of ``1/QTY_SCALE`` and money is
nullable ``Int64`` fixed point in units of ``1/MONEY_SCALE`` (six decimals, enough for
Microsoft's ``EffectiveUnitPrice`` such as 0.03825). Sums are therefore exact integer sums;
:func:`to_decimal` turns them back into :class:`~decimal.Decimal` for display and output.
IDs and text are Python ``str`` (missing = ``""``), dates are ``datetime64[ns]`` at midnight
(missing = ``NaT``). Every row carries ``source`` = ``"file:row"`` (1-based data row).

Example:
    >>> DELIVERED.names()[:3]
    ('vendor', 'vendor_customer_id', 'vendor_customer_name')
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

import pandas as pd

QTY_SCALE = 10_000
MONEY_SCALE = 1_000_000
CENT = Decimal("0.01")  # impacts and invoice amounts round to the cent

Kind = Literal["id", "text", "money", "quantity", "date", "bool"]


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    kind: Kind
    required: bool = True


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns in order."""

    name: str
    columns: tuple[Column, ...]

    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(c.name for c in self.columns)

    def kinds(self) -> dict[str, Kind]:
        """Column name -> kind."""
        return {c.name: c.kind for c in self.columns}

    def empty(self) -> pd.DataFrame:
        """An empty frame with this table's columns and dtypes."""
        return pd.DataFrame({c.name: pd.Series(dtype=DTYPES[c.kind]) for c in self.columns})

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return ``frame`` with exactly this table's columns (missing ones filled) and dtypes.

        Raises:
            ValueError: a required column is missing.
        """
        missing = [c.name for c in self.columns if c.required and c.name not in frame.columns]
        if missing:
            raise ValueError(f"{self.name} table lacks required columns: {missing}")
        out = {}
        for c in self.columns:
            if c.name in frame.columns:
                col = frame[c.name]
                if c.kind == "quantity":  # an optional quantity left empty counts as 0
                    col = col.fillna(0)
                out[c.name] = col.astype(DTYPES[c.kind])
            else:
                out[c.name] = pd.Series(
                    [MISSING[c.kind]] * len(frame), index=frame.index, dtype=DTYPES[c.kind]
                )
        return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


DTYPES: dict[str, str] = {
    "id": "object",
    "text": "object",
    "money": "Int64",
    "quantity": "int64",
    "date": "datetime64[ns]",
    "bool": "bool",
}
MISSING: dict[str, object] = {
    "id": "",
    "text": "",
    "money": pd.NA,
    "quantity": 0,
    "date": pd.NaT,
    "bool": False,
}


def _cols(*spec: tuple[str, Kind] | tuple[str, Kind, bool]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


DELIVERED = Table(
    "delivered",
    _cols(
        ("vendor", "id"),
        ("vendor_customer_id", "id"),
        ("vendor_customer_name", "text"),
        ("vendor_sku", "id"),
        ("sku_name", "text", False),
        ("quantity", "quantity"),
        ("unit_cost", "money", False),
        ("currency", "id", False),
        ("charge_start", "date", False),
        ("charge_end", "date", False),
        # a client_id the source already carries (Pax8 externalId, Datto RMM autotaskCompanyId)
        ("client_link", "id", False),
        ("charge_type", "text", False),
        ("source", "text"),
    ),
)

PROMISED = Table(
    "promised",
    _cols(
        ("client_id", "id"),
        ("client_name", "text", False),
        ("agreement_id", "id", False),
        ("product_id", "id"),
        ("description", "text", False),
        ("quantity", "quantity"),
        # units the agreement includes at no charge (ConnectWise lessIncluded)
        ("less_included", "quantity", False),
        ("unit_price", "money", False),
        ("unit_cost", "money", False),
        ("currency", "id", False),
        ("effective_date", "date", False),
        ("cancelled_date", "date", False),
        # False for ConnectWise billCustomer DoNotBill/NoCharge
        ("billable", "bool", False),
        ("source", "text"),
        # The PSA's own identifiers, so a change can name the exact object to write back
        # (``recon apply``); empty for canonical CSVs, which are never written back:
        # psa              the PSA family the line was read from: connectwise, autotask, halopsa
        # psa_agreement_id ConnectWise agreement id, Autotask contract id, Halo recurring
        #                  invoice id
        # psa_line_id      ConnectWise addition id, Autotask contract service id, Halo line id
        # psa_service_id   ConnectWise catalogue item id (product.id), Autotask service id,
        #                  Halo item id
        # psa_version      what the PSA says about the line's last change, as written
        #                  (ConnectWise _info.lastUpdated); Autotask and Halo lines carry none
        ("psa", "id", False),
        ("psa_agreement_id", "id", False),
        ("psa_line_id", "id", False),
        ("psa_service_id", "id", False),
        ("psa_version", "text", False),
    ),
)
PSA_COLUMNS = ("psa", "psa_agreement_id", "psa_line_id", "psa_service_id", "psa_version")

BILLED = Table(
    "billed",
    _cols(
        ("client_id", "id"),
        ("invoice_number", "id", False),
        ("invoice_date", "date", False),
        ("product_id", "id"),
        ("description", "text", False),
        ("quantity", "quantity"),
        ("unit_price", "money", False),
        ("amount", "money", False),
        ("currency", "id", False),
        ("period_start", "date", False),
        ("period_end", "date", False),
        ("source", "text"),
    ),
)

CLIENTS = Table(
    "clients",
    _cols(("client_id", "id"), ("client_name", "text"), ("source", "text")),
)

# Optional product catalogue (ConnectWise catalog, Autotask Services): the catalogue price
# values an unbilled service.
CATALOGUE = Table(
    "catalogue",
    _cols(
        ("product_id", "id"),
        ("description", "text", False),
        ("unit_price", "money", False),
        ("unit_cost", "money", False),
        ("currency", "id", False),
        ("source", "text"),
    ),
)

ROLES: dict[str, Table] = {
    t.name: t for t in (DELIVERED, PROMISED, BILLED, CLIENTS, CATALOGUE)
}


class QuarantineReason(StrEnum):
    """Why a row was set aside. A closed set: tests, the quarantine table and reports share it."""

    MISSING_VALUE = "missing_value"  # a required field is empty
    BAD_NUMBER = "bad_number"  # money or quantity that is not a number in the file's locale
    BAD_DATE = "bad_date"  # unparseable, impossible or ambiguous date
    BAD_ID = "bad_id"  # an ID mangled by a spreadsheet (1E+17, 1.23E5)
    RAGGED_ROW = "ragged_row"  # more or fewer fields than the header
    DUPLICATE_ROW = "duplicate_row"  # exact repeat of an earlier row of the same file
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # same record ID, different values
    UNKNOWN_REFERENCE = "unknown_reference"  # points to an agreement/contract/invoice not loaded
    NOT_BILLABLE_LINE = "not_billable_line"  # a line type that is not a service (payments, tax)
    NOT_IN_PERIOD = "not_in_period"  # dated outside the month the file is assigned to


# Reasons whose row held data the month needed: a finding on what such a row concerns is held
# (``quarantined_row``), and the month cannot be signed while one is unacknowledged. The
# others set aside rows that carry nothing to reconcile (a repeat, a payment, another month).
DATA_LOSING_REASONS: frozenset[QuarantineReason] = frozenset({
    QuarantineReason.MISSING_VALUE, QuarantineReason.BAD_NUMBER, QuarantineReason.BAD_DATE,
    QuarantineReason.BAD_ID, QuarantineReason.RAGGED_ROW,
    QuarantineReason.CONFLICTING_DUPLICATE, QuarantineReason.UNKNOWN_REFERENCE,
})

# What a quarantined row concerns, as far as its file (and, for PSA rows reaching their client
# through another file, the linker) tells: "" when unknown. A finding on the same client x
# product, or vendor x customer x SKU, cannot be trusted while the row is out.
QUARANTINE_IDENTITY: tuple[str, ...] = (
    "client_id", "product_id", "vendor", "vendor_customer", "vendor_sku",
)
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "file", "row", "reason", "column", "value", "detail", *QUARANTINE_IDENTITY,
)


def empty_quarantine() -> pd.DataFrame:
    """An empty quarantine table (QUARANTINE_COLUMNS)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in QUARANTINE_COLUMNS}).astype(
        {"row": "int64"}
    )


def conform_quarantine(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly QUARANTINE_COLUMNS, in order; identity columns it lacks are ""."""
    out = frame.copy()
    for col in QUARANTINE_IDENTITY:
        if col not in out:
            out[col] = ""
        else:
            out[col] = out[col].where(out[col].notna(), "").astype(object)
    return out[list(QUARANTINE_COLUMNS)]


DISCREPANCY_COLUMNS: tuple[str, ...] = (
    "period",
    "kind",
    "client_id",
    "client_name",
    "product_id",
    "vendor",
    "vendor_customer",
    "vendor_sku",
    "vendor_qty",
    "agreement_qty",
    "invoiced_qty",
    "variance_qty",
    "unit_price",
    "unit_cost",
    "impact",
    "currency",
    "sources",
)

DISCREPANCY_KINDS: tuple[str, ...] = (
    "under_billed",
    "over_billed",
    "unbilled_service",
    "billed_not_delivered",
    "invoice_mismatch",
    "price_mismatch",
    "negative_margin",
    "unmapped_customer",
    "unmapped_product",
)

# Microsoft licence findings (reconcile/licences.py): beside SPEC's nine, in the same table,
# with the same sign convention. Every list of kinds the workbook validates or orders by is
# FINDING_KINDS.
LICENCE_KINDS: tuple[str, ...] = (
    "unassigned_licences",
    "reduction_window",
    "renewal_due",
    "term_mismatch",
)
FINDING_KINDS: tuple[str, ...] = (*DISCREPANCY_KINDS, *LICENCE_KINDS)


def to_decimal(value: object, scale: int) -> Decimal | None:
    """Turn one fixed-point integer back into an exact Decimal (None for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    exact = Decimal(int(value)).scaleb(-(len(str(scale)) - 1)).normalize()
    # normalize() writes 100 as 1E+2; keep a plain positional form for people and CSVs
    return exact.quantize(Decimal(1)) if exact.as_tuple().exponent > 0 else exact


def qty(value: object) -> Decimal | None:
    """A fixed-point quantity as Decimal."""
    return to_decimal(value, QTY_SCALE)


def money(value: object) -> Decimal | None:
    """A fixed-point money value as Decimal."""
    return to_decimal(value, MONEY_SCALE)
