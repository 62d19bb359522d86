"""Display text of single values: money, quantities, unknowns, yes/no.

One set of rules for every page, widget and chart of the workbook:

* money: two decimals and a thousands separator (``4,454.25``); digits beyond the cent that
  are not zero are kept (a unit price of ``0.0825``), because display never rounds a figure
  away;
* quantities: thousands separator, no trailing zeros (``12``, ``1,024.5``);
* unknown values (None, NaN, NA, empty text): a dash;
* booleans: ``yes`` / ``no``, never ``True`` / ``False``.

Example:
    >>> money_text(Decimal("4454.250"))
    '4,454.25'
    >>> qty_text(Decimal("12.0000"))
    '12'
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.core.schemas import CENT

DASH = "\u2013"  # an unknown value: shown, never a blank cell or a 0.00 that was not computed


def missing(value: Any) -> bool:
    """True for None, NaN, NA and NaT (not for empty text)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, never in exponent form (``1E+3`` -> ``1000``)."""
    if value == 0:
        return Decimal(0)
    out = value.normalize()
    return out.quantize(Decimal(1)) if out.as_tuple().exponent > 0 else out


def money_text(value: Any) -> str:
    """Money: two decimals, thousands separator, non-zero sub-cent digits kept; unknown: dash."""
    if missing(value) or value == "":
        return DASH
    if isinstance(value, bool):
        return bool_text(value)
    value = _decimal(value)
    if isinstance(value, str):  # not a number, or not finite
        return value
    plain = _plain(value)
    if plain.as_tuple().exponent >= -2:  # at most cents: pad to cents
        plain = plain.quantize(CENT)
    return f"{plain:,f}"


def _decimal(value: Any) -> Decimal | str:
    """The value as a finite Decimal, else the text to show (its own text, or a dash)."""
    if not isinstance(value, Decimal):
        try:
            value = Decimal(str(value))
        except ArithmeticError:
            return str(value)
    return value if value.is_finite() else DASH


def qty_text(value: Any) -> str:
    """Quantity: thousands separator, no trailing zeros; unknown: dash."""
    if missing(value) or value == "":
        return DASH
    if isinstance(value, bool):
        return bool_text(value)
    if isinstance(value, int):
        return f"{value:,}"
    value = _decimal(value)
    if isinstance(value, str):  # not a number, or not finite
        return value
    return f"{_plain(value):,f}"


def bool_text(value: Any) -> str:
    """``yes`` / ``no``; unknown: dash."""
    if missing(value):
        return DASH
    return "yes" if bool(value) else "no"


def amount(value: Any, currency: str = "") -> str:
    """Money with its currency (``1,234.50 USD``); unknown: dash (no currency)."""
    shown = money_text(value)
    return shown if shown == DASH or not currency else f"{shown} {currency}"


def count(n: int, one: str, many: str | None = None) -> str:
    """``1 discrepancy``, ``3 discrepancies`` (never ``1 discrepancies``)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def value_text(value: Any, *, money_like: bool = False) -> str:
    """Any table cell: money or quantity rules for Decimals, yes/no, dash for unknown."""
    if missing(value):
        return DASH
    if isinstance(value, bool):
        return bool_text(value)
    if hasattr(value, "dtype") and str(getattr(value, "dtype", "")) == "bool":
        return bool_text(bool(value))
    if isinstance(value, Decimal):
        return money_text(value) if money_like else qty_text(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and str(value.dtype).startswith(
            ("int", "uint"))):
        return f"{int(value):,}"
    return str(value)
