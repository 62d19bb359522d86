"""Drive ``recon`` as a user does (its ``main``, in process) and hold its findings to a plan.

The comparison is black box: it reads the discrepancy table ``recon reconcile --out`` writes
(SPEC columns, then ``status`` and ``detail``) and the text the command prints.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from tests.unseen.expected import Expected
from tests.unseen.workspace import PERIOD, Book


def issue12(reason: str) -> pytest.MarkDecorator:
    """The marker of a case today's code fails: strict, and only for a failed assertion (a
    traceback or a NameError in the test is never mistaken for the known defect)."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"issue 12: {reason}")


class PlanError(Exception):
    """The month builder did not produce what a case needs: a defect of the test, never the
    known defect an ``issue12`` marker expects (it raises AssertionError only)."""


class CommandCrashed(Exception):
    """``recon`` ended in a traceback: a defect no ``issue12`` marker may hide (the workbook's
    own AssertionErrors, such as its row-conservation check, arrive as this too)."""


def require(condition: object, message: str) -> None:
    """Check a precondition of a case (raises PlanError, which no xfail marker swallows)."""
    if not condition:
        raise PlanError(message)


@dataclass
class Result:
    """One command: exit status, what it printed, and the findings table if one was written."""

    code: int
    out: str
    err: str
    findings: list[dict[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """stdout and stderr together (messages may go to either)."""
        return self.out + "\n" + self.err


def recon(*args: str | Path) -> Result:
    """Run ``recon ARGS`` in this process, as ``recon`` would from a shell.

    Raises:
        CommandCrashed: the command raised instead of exiting with a status and a message.
    """
    from recon_helpers.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except Exception as exc:
            raise CommandCrashed(f"recon {' '.join(map(str, args))} crashed: {exc!r}\n"
                                 f"{err.getvalue()[-2000:]}") from exc
    return Result(code, out.getvalue(), err.getvalue())


def reconcile(book: Book, period: str = PERIOD) -> Result:
    """``recon reconcile --out`` on the book's workspace, with the table read back."""
    out = book.root.parent / f"findings-{period}.csv"
    out.unlink(missing_ok=True)
    result = recon("reconcile", "--workspace", book.root, "--reports", book.reports,
                   "--period", period, "--out", out)
    if out.exists():
        with out.open(encoding="utf-8-sig", newline="") as fh:
            result.findings = list(csv.DictReader(fh))
    return result


def _impact(text: str) -> Decimal | None:
    return Decimal(text.replace(",", "")) if text.strip() else None


def row_key(row: dict[str, str]) -> tuple[str, ...]:
    """The identity of a CLI finding, as :meth:`Expected.key` builds it."""
    kind = row["kind"]
    unmapped = kind.startswith("unmapped")
    return (kind, row["client_id"], row["product_id"], row["vendor"] if unmapped else "",
            row["vendor_customer"].lower() if kind == "unmapped_customer" else "",
            row["vendor_sku"].lower() if kind == "unmapped_product" else "", row["currency"])


def differences(rows: list[dict[str, str]], expected: list[Expected],
                *, statuses: bool = True) -> list[str]:
    """What differs between the CLI's findings and the expected ones (empty: identical).

    Compares the multiset of finding keys, each finding's impact and (``statuses``) its status
    and, for a held one, that its ``detail`` names the reason.
    """
    problems = []
    want = {e.key(): e for e in expected}
    assert len(want) == len(expected), "expected findings must have distinct keys"
    seen = Counter(row_key(r) for r in rows)
    for key, n in seen.items():
        if n > 1:
            problems.append(f"finding listed {n} times: {key}")
    for row in rows:
        key = row_key(row)
        exp = want.get(key)
        if exp is None:
            problems.append(f"extra finding: {key} impact {row['impact']!r} status "
                            f"{row.get('status')!r} ({row.get('detail', '')})")
            continue
        if _impact(row["impact"]) != exp.impact:
            problems.append(f"impact of {key}: {row['impact']!r}, expected {exp.impact}")
        if statuses and row.get("status") != exp.status:
            problems.append(f"status of {key}: {row.get('status')!r}, expected {exp.status!r}")
        if statuses and exp.reason and exp.reason not in row.get("detail", ""):
            problems.append(f"detail of {key} lacks {exp.reason!r}: {row.get('detail')!r}")
    for key in want.keys() - seen.keys():
        problems.append(f"missing finding: {key} impact {want[key].impact}")
    return problems


def assert_findings(result: Result, expected: list[Expected], *, statuses: bool = True) -> None:
    """The command ran (exit 0 or 1) and its findings are exactly ``expected``."""
    assert result.code in (0, 1), f"exit {result.code}:\n{result.err[-3000:]}"
    problems = differences(result.findings, expected, statuses=statuses)
    assert not problems, "\n".join(problems)


def assert_refused(result: Result, *names: str) -> None:
    """Exit 2 with a message naming each of ``names`` (files, rows, values)."""
    assert result.code == 2, (
        f"expected exit 2 naming {names}, got exit {result.code} with "
        f"{len(result.findings)} findings\n{result.err[-2000:]}")
    missing = [n for n in names if n not in result.text]
    assert not missing, f"the message does not name {missing}:\n{result.text[-2000:]}"
