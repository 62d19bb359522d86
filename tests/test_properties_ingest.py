"""Property: whatever mix of good and bad rows a file holds, no row is lost and numbers are exact.

Rows are written to a canonical delivered CSV; each row is good, or broken in one known way
(bad number, bad date, missing required value, ragged, exact duplicate of an earlier row).
``load_period`` must account for every data row, use exactly the good ones, and give every good
quantity back to the last digit.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import QTY_SCALE
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.ingest.loaders.canonical import DELIVERED_FIELDS, spec_header

COLUMNS = spec_header(DELIVERED_FIELDS)
KINDS = ("good", "bad_number", "bad_date", "missing_value", "ragged_row", "duplicate_row")
EXPECTED_REASON = {k: k for k in KINDS if k != "good"}

quantities = st.decimals(
    min_value=Decimal("-1e9"),
    max_value=Decimal("1e9"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
row_specs = st.tuples(st.sampled_from(KINDS), quantities, names, st.booleans())


def _quantity_text(q: Decimal, grouped: bool) -> str:
    return f"{q:,f}" if grouped else f"{q:f}"


def _build(
    specs: list[tuple[str, Decimal, str, bool]],
) -> tuple[str, dict[int, str], dict[int, int]]:
    """The CSV text, the intended fate of each data row, and each good row's fixed-point qty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    fate: dict[int, str] = {}
    expected_qty: dict[int, int] = {}
    written: list[list[str]] = []
    for i, (kind, q, name, grouped) in enumerate(specs, start=1):
        if kind == "duplicate_row" and not written:
            kind = "good"  # nothing to repeat yet
        if kind == "duplicate_row":
            row = list(written[(i * 7) % len(written)])
            # a repeated ragged row is still ragged: it never reaches duplicate detection
            kind = "ragged_row" if len(row) != len(COLUMNS) else kind
        else:
            row = [
                "ninjaone",
                f"C-{i}",  # unique: only intended duplicates repeat a row
                name,
                "ws",
                "Workstation",
                _quantity_text(q, grouped),
                "2.75",
                "USD",
                "2026-10-01",
                "",
            ]
            if kind == "bad_number":
                row[5] = row[5] + "x" if i % 2 else "1,2,3"
            elif kind == "bad_date":
                row[8] = "2026-02-30" if i % 2 else "30/10/2026"
            elif kind == "missing_value":
                row[3] = ""
            elif kind == "ragged_row":
                row = [*row, "surplus"] if i % 2 else row[:4]
            elif kind == "good":
                expected_qty[i] = int(q * QTY_SCALE)
        written.append(row)
        writer.writerow(row)
        fate[i] = kind
    return out.getvalue(), fate, expected_qty


@settings(max_examples=50, deadline=None)
@given(st.lists(row_specs, min_size=0, max_size=25))
def test_rows_conserved_and_quantities_exact(specs: list[tuple[str, Decimal, str, bool]]) -> None:
    text, fate, expected_qty = _build(specs)
    root = Path(tempfile.mkdtemp(prefix="recon-prop-"))
    try:
        folder = root / "inputs" / "2026-10"
        folder.mkdir(parents=True)
        (folder / "usage.csv").write_text(text, encoding="utf-8")
        # any share of bad rows: the share rule has its own property (test_ingest_damaged.py)
        (root / "recon.toml").write_text("[quarantine]\nmax_share = 1\n", encoding="utf-8")
        loaded = load_period(Workspace.open(root), Period.parse("2026-10"))
    finally:
        shutil.rmtree(root)

    inv = loaded.inventory.set_index("file").loc["usage.csv"]
    assert inv["rows_read"] == len(specs)
    assert inv["rows_read"] == inv["rows_used"] + inv["rows_quarantined"]

    d = loaded.delivered
    used_rows = d["source"].str.rsplit(":", n=1).str[1].astype(int).tolist()
    assert sorted(used_rows) == sorted(expected_qty)
    assert dict(zip(used_rows, d["quantity"].tolist(), strict=True)) == expected_qty

    q = loaded.quarantine
    got = dict(zip(q["row"].astype(int), q["reason"], strict=True))
    assert len(got) == len(q)  # one reason per row
    assert got == {row: EXPECTED_REASON[k] for row, k in fate.items() if k != "good"}
