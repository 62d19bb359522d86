"""The billing month: one frozen value, parsed once where text comes in (CLI, notebook
parameters) and passed on as a value, so no later stage re-checks a ``YYYY-MM`` string.

Example:
    >>> p = Period.parse("2026-10")
    >>> str(p), p.first, p.last, p.days, p.label
    ('2026-10', datetime.date(2026, 10, 1), datetime.date(2026, 10, 31), 31, 'October 2026')
    >>> str(p.previous()), str(p.next())
    ('2026-09', '2026-11')
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from recon_helpers.core.errors import UsageError

PERIOD_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month (``year``, ``month``); ``str()`` gives ``YYYY-MM``."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9999):
            raise UsageError(f"{self.year}-{self.month:02d} is not a month")

    @classmethod
    def parse(cls, text: object, what: str = "period") -> Period:
        """A ``YYYY-MM`` text as a Period.

        Args:
            what: how the value is called where it came from (``--period``, ``parameter
                period``), for the error message.

        Raises:
            UsageError: not a month in the form YYYY-MM.
        """
        match = PERIOD_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise UsageError(f"{what}: {text!r} is not a month in the form YYYY-MM (e.g. 2026-10)")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        """The month's first day."""
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        """The month's last day."""
        return date(self.year, self.month, self.days)

    @property
    def days(self) -> int:
        """Days in the month."""
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def label(self) -> str:
        """``October 2026``."""
        return self.first.strftime("%B %Y")

    def previous(self) -> Period:
        """The calendar month before."""
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def next(self) -> Period:
        """The calendar month after."""
        return Period(self.year + (self.month == 12), self.month % 12 + 1)
