"""Exact money steps the PSA and distributor loaders share: cents, line totals, JSON doubles.

All arithmetic is on the fixed-point integers of :mod:`recon_helpers.core.schemas` with Python
integers where a product can exceed int64; rounding is half away from zero and happens once,
at the cent, where a PSA or distributor prints a total.

Example:
    >>> from_cents(pd.Series([4541], dtype="Int64") * MONEY_SCALE)[0].tolist()
    [45410000]
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pandas as pd

from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE
from recon_helpers.ingest.raw import RawTable

CENT = MONEY_SCALE // 100
_LONG_DECIMAL = re.compile(r"^-?\d+\.\d{7,}$")


def from_cents(cents: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Money read from a whole-cents column (parsed as money: 4541 -> 4541.000000).

    Returns:
        (money fixed point, i.e. cents / 100 exactly; mask of values that were not whole
        numbers of cents, such as ``45.41`` written in a cents field)
    """
    fractional = (cents.notna() & cents.mod(MONEY_SCALE).ne(0)).fillna(False).astype(bool)
    return (cents // 100).astype("Int64"), fractional


def _objects(values: pd.Series) -> np.ndarray:
    return values.astype("Int64").to_numpy(dtype=object, na_value=None)


def line_amount(quantity: pd.Series, unit_price: pd.Series,
                discount_pct: pd.Series | None = None) -> pd.Series:
    """``quantity x unit_price x (1 - discount/100)`` rounded half away from zero to the cent.

    Args:
        quantity: fixed point ``1/QTY_SCALE`` (int64 or Int64).
        unit_price: money fixed point ``1/MONEY_SCALE`` (Int64, missing allowed).
        discount_pct: percent in ``1/QTY_SCALE`` units (``10.0`` -> 100000), or None.

    Returns:
        Int64 money, missing where the price is.
    """
    q, p = _objects(quantity), _objects(unit_price)
    d = _objects(discount_pct) if discount_pct is not None else np.zeros(len(q), dtype=object)
    out = np.full(len(q), None, dtype=object)
    known = np.array([a is not None and b is not None for a, b in zip(q, p, strict=True)],
                     dtype=bool)
    if known.any():
        d_known = np.array([0 if v is None else v for v in d[known]], dtype=object)
        # q/QTY x p/MONEY x (100 QTY - d)/(100 QTY), in cents
        numerator = q[known] * p[known] * (100 * QTY_SCALE - d_known)
        denominator = QTY_SCALE * 100 * QTY_SCALE * CENT
        magnitude = (np.abs(numerator) * 2 + denominator) // (denominator * 2)
        out[known] = np.where(numerator < 0, -magnitude, magnitude) * CENT
    return pd.Series(pd.array(out, dtype="Int64"), index=quantity.index)


def credit_signs(quantity: pd.Series, unit_cost: pd.Series,
                 amount: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """A delivered line's quantity and unit cost with a credit's signs made one convention.

    Vendors write a credit as a negative quantity, a negative price, a negative total, or any
    mix of them. The line amount decides when it is known and not zero (negative: a credit,
    positive: a charge); without one, any negative quantity or unit cost makes the line a
    credit. A credit is then a negative quantity at a non-negative unit cost and a charge a
    positive one, so quantity x unit cost always has the credit's sign: a credit never adds
    cost, never adds seats. Microsoft's reversal lines (a negative ``BillableQuantity`` at a
    positive price, a negative ``Subtotal``) already have these signs.

    Args:
        quantity: fixed point int64.
        unit_cost: money fixed point, nullable Int64.
        amount: the line's total as the vendor writes it (Int64, missing allowed), or None.

    Returns:
        (quantity int64, unit cost Int64) on ``quantity``'s index.
    """
    q = quantity.astype("int64")
    cost = unit_cost.astype("Int64")
    negative = q.lt(0).to_numpy() | cost.lt(0).fillna(False).to_numpy(dtype=bool)
    if amount is None:
        credit = negative
    else:
        known = (amount.notna() & amount.ne(0)).fillna(False).to_numpy(dtype=bool)
        below = amount.lt(0).fillna(False).to_numpy(dtype=bool)
        credit = np.where(known, below, negative)
    magnitude = q.abs().to_numpy()
    signed = pd.Series(np.where(credit, -magnitude, magnitude), index=q.index, dtype="int64")
    return signed, cost.abs()


def denoise_doubles(raw: RawTable, columns: tuple[str, ...]) -> RawTable:
    """``raw`` with binary-double noise in money columns rounded away (.NET JSON APIs).

    Kaseya BMS and Sherweb serialise money as IEEE doubles with the shortest round-trip text,
    so a computed total may read ``0.30000000000000004`` (3 x 0.1). A value with more than six
    decimals and at least 15 significant digits is such noise around a shorter decimal: it is
    rounded (half even, on its exact decimal text) to six decimals. Any other over-precise value
    is left as written, and quarantined as ``bad_number`` by the money parser.
    """
    present = [c for name in columns if (c := raw.column(name)) is not None]
    if not present:
        return raw
    data = raw.data.copy()
    for column in present:
        text = data[column].astype(str).str.strip()
        digits = text.str.replace(r"[-.]", "", regex=True).str.lstrip("0").str.len()
        noisy = text.str.match(_LONG_DECIMAL) & digits.ge(15)
        if noisy.any():
            data.loc[noisy, column] = text[noisy].map(_round6)
    return replace(raw, data=data)


def _round6(text: str) -> str:
    return str(Decimal(text).quantize(Decimal("0.000001")))


def first_filled(*columns: pd.Series) -> pd.Series:
    """Per row, the first of ``columns`` that is not empty text."""
    out = columns[0].astype(object).where(columns[0].notna(), "").astype(str)
    for col in columns[1:]:
        fill = col.astype(object).where(col.notna(), "").astype(str)
        out = out.where(out.ne(""), fill)
    return out.astype(object)
