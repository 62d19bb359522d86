"""Damaged and re-saved files: an error naming the file and the problem, or the right rows.

Built the way files arrive: a canonical CSV re-saved by Excel (M/D/YYYY dates, "1,500.00"), a
Partner Center CSV re-saved in a German locale (";" and decimal commas), a download cut off
mid-record, an export saved twice under another name, a second download of the same records,
an empty month folder.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.cli import main
from recon_helpers.core.errors import ConfigError, InputFileError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace, parse_settings
from recon_helpers.ingest.load import load_period
from recon_helpers.ingest.loaders.canonical import BILLED_FIELDS, DELIVERED_FIELDS, spec_header
from recon_helpers.ingest.quarantine_share import (
    FileReading,
    QuarantineLimit,
    check_share,
    quarantine_limit,
)
from recon_helpers.present.views import inventory
from recon_helpers.reconcile.engine_duckdb import reconcile_duckdb
from recon_helpers.reconcile.run import reconcile_period

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
MS = FIXTURES / "microsoft_nce_invoice_recon.csv"
ITEMS = FIXTURES / "pax8_invoice_items.json"
PERIOD = Period.parse("2026-10")


def _ws(month_dir: Path, toml: str = "") -> Workspace:
    if toml:
        (month_dir.parents[1] / "recon.toml").write_text(toml, encoding="utf-8")
    return Workspace.open(month_dir.parents[1])


def _delivered(rows: list[dict[str, str]]) -> str:
    header = spec_header(DELIVERED_FIELDS)
    base = {"vendor": "ninjaone", "vendor_customer_name": "Fabrikam", "vendor_sku": "ws",
            "sku_name": "Workstation", "quantity": "5", "unit_cost": "2.75", "currency": "USD",
            "charge_start": "2026-10-01", "charge_end": ""}
    lines = [",".join(header)]
    for i, row in enumerate(rows):
        values = {**base, "vendor_customer_id": f"C-{i}", **row}
        lines.append(",".join(values[c] for c in header))
    return "\n".join(lines) + "\n"


# --- an empty month --------------------------------------------------------------------------


def test_an_empty_month_folder_is_an_error_naming_it(month_dir: Path) -> None:
    with pytest.raises(UsageError, match=r"inputs/2026-10 holds no input files.*recon pull"):
        load_period(_ws(month_dir), PERIOD)
    (month_dir / "pull-log.json").write_text("{}", encoding="utf-8")
    (month_dir / "not-loaded").mkdir()
    with pytest.raises(UsageError, match=r"only not-loaded, pull-log\.json, which are not"):
        load_period(_ws(month_dir), PERIOD)
    with pytest.raises(UsageError, match=r"inputs/2026-10 holds no input files"):
        reconcile_duckdb(_ws(month_dir), PERIOD)


# --- mass quarantine -------------------------------------------------------------------------


def _excel_billed() -> bytes:
    """SPEC's billed CSV as US Excel saves it: M/D/YYYY dates and thousands separators."""
    header = spec_header(BILLED_FIELDS)
    rows = [[f"C{i}", f"INV-{i}", "10/1/2026", "M365-BP", "Business Premium", "60", "25.00",
             "1,500.00", "USD", "10/1/2026", "10/31/2026"] for i in range(8)]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue().encode("utf-8")


def test_excel_resave_of_a_canonical_csv_is_an_error_saying_what_to_declare(
        month_dir: Path) -> None:
    (month_dir / "billed.csv").write_bytes(_excel_billed())
    with pytest.raises(InputFileError) as info:
        load_period(_ws(month_dir), PERIOD)
    message = str(info.value)
    assert message.startswith("billed.csv:1: 8 of its 8 rows are quarantined (100%, more than "
                              "the 20% [quarantine] max_share allows): mostly bad_date (8 rows)")
    assert "invoice_date '10/1/2026'" in message
    # 10/31/2026 in period_end settles the order, though every invoice_date is 10/1/2026
    assert 'written M/D/YYYY' in message and '[files."billed.csv"] date_format = "mdy"' in message


def test_declaring_the_resave_reads_it(month_dir: Path) -> None:
    (month_dir / "billed.csv").write_bytes(_excel_billed())
    loaded = load_period(_ws(month_dir, '[files."billed.csv"]\ndate_format = "mdy"\n'), PERIOD)
    assert len(loaded.billed) == 8 and loaded.quarantine.empty
    assert (loaded.billed["amount"] == 1_500_000_000).all()
    assert (loaded.billed["period_end"] == pd.Timestamp("2026-10-31")).all()


def _german(data: bytes) -> bytes:
    """A Partner Center CSV saved by Excel in a German locale: ';' and decimal commas."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    numeric = {"UnitPrice", "Quantity", "Subtotal", "TaxTotal", "Total", "EffectiveUnitPrice",
               "BillableQuantity", "PCToBCExchangeRate"}
    at = [i for i, h in enumerate(rows[0]) if h in numeric]
    for row in rows[1:]:
        for i in at:
            row[i] = row[i].replace(".", ",")
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def test_semicolon_decimal_comma_resave_is_an_error_asking_for_decimal_comma(
        month_dir: Path) -> None:
    (month_dir / MS.name).write_bytes(_german(MS.read_bytes()))
    with pytest.raises(InputFileError) as info:
        load_period(_ws(month_dir), PERIOD)
    message = str(info.value)
    assert message.startswith(f"{MS.name}:1: ") and "mostly bad_number" in message
    assert "semicolon / decimal-comma re-save" in message
    assert f'[files."{MS.name}"] decimal_comma = true' in message
    toml = f'[files."{MS.name}"]\ndecimal_comma = true\n'
    assert len(load_period(_ws(month_dir, toml), PERIOD).delivered) == 13


@pytest.mark.parametrize(("bad", "good", "refused"), [
    (2, 0, False),  # a two-row file with both rows bad: under the floor of 3
    (2, 8, False),  # 20 %: not more than the share
    (3, 9, True),  # 25 %, 3 rows
    (3, 12, False),  # exactly 20 %
])
def test_the_share_and_the_floor(month_dir: Path, bad: int, good: int, refused: bool) -> None:
    rows = [{"quantity": "twelve"}] * bad + [{}] * good
    (month_dir / "usage.csv").write_text(_delivered(rows), encoding="utf-8")
    if refused:
        with pytest.raises(InputFileError, match=rf"usage\.csv:1: {bad} of its {bad + good} rows"):
            load_period(_ws(month_dir), PERIOD)
    else:
        loaded = load_period(_ws(month_dir), PERIOD)
        assert len(loaded.quarantine) == bad and len(loaded.delivered) == good


def test_rows_that_lose_nothing_do_not_count(month_dir: Path) -> None:
    rows = [{"vendor_customer_id": "C-1"}] * 6 + [{"vendor_customer_id": "C-9"}]
    (month_dir / "usage.csv").write_text(_delivered(rows), encoding="utf-8")
    loaded = load_period(_ws(month_dir), PERIOD)  # 5 exact repeats: duplicate_row
    assert set(loaded.quarantine["reason"]) == {"duplicate_row"}


def test_the_limit_is_set_in_recon_toml(month_dir: Path) -> None:
    rows = [{"quantity": "x"}] * 3 + [{}] * 3
    (month_dir / "usage.csv").write_text(_delivered(rows), encoding="utf-8")
    loaded = load_period(_ws(month_dir, "[quarantine]\nmax_share = 0.5\n"), PERIOD)
    assert len(loaded.quarantine) == 3
    with pytest.raises(InputFileError, match="more than the 10% "):
        load_period(_ws(month_dir, "[quarantine]\nmax_share = 0.1\nmin_rows = 1\n"), PERIOD)
    for bad in ("max_share = 2", "max_share = 'lots'", "min_rows = 0", "limit = 3"):
        with pytest.raises(ConfigError, match="quarantine"):
            quarantine_limit(parse_settings(f"[quarantine]\n{bad}\n"))


def test_the_duckdb_engine_refuses_the_same_file(month_dir: Path) -> None:
    rows = [{"quantity": "twelve"}] * 4 + [{}] * 4
    (month_dir / "usage.csv").write_text(_delivered(rows), encoding="utf-8")
    ws = _ws(month_dir)
    with pytest.raises(InputFileError, match=r"usage\.csv:1: 4 of its 8 rows") as pandas_error:
        load_period(ws, PERIOD)
    with pytest.raises(InputFileError) as duckdb_error:
        reconcile_duckdb(ws, PERIOD)
    assert str(duckdb_error.value) == str(pandas_error.value)


@given(st.integers(0, 60), st.integers(0, 60), st.integers(1, 5),
       st.fractions(min_value=0, max_value=1, max_denominator=20))
def test_refused_exactly_past_both_limits(bad: int, good: int, floor: int,
                                          share: Fraction) -> None:
    """Property: a file is refused iff its data-losing rows reach the floor and exceed the
    share; rows set aside for reasons that lose nothing never count."""
    rows = bad + good
    q = pd.DataFrame({"file": "f.csv", "row": range(1, bad + good + 1),
                      "reason": ["bad_number"] * bad + ["duplicate_row"] * good,
                      "column": "quantity", "value": "x", "detail": "d"})
    limit = QuarantineLimit(share, floor)
    refused = bad >= floor and rows > 0 and Fraction(bad, rows) > share
    try:
        check_share(Path("f.csv"), rows, q, limit, FileReading(","))
    except InputFileError as exc:
        assert refused and str(exc).startswith(f"f.csv:1: {bad} of its {rows} rows")
    else:
        assert not refused


# --- cut off mid-download --------------------------------------------------------------------


def test_a_csv_cut_mid_record_is_an_error(month_dir: Path) -> None:
    data = MS.read_bytes().rstrip(b"\r\n")
    (month_dir / MS.name).write_bytes(data[: data.rindex(b",", 0, len(data) - 300)])
    with pytest.raises(InputFileError, match=rf"{MS.name}:13: the last record has \d+ fields "
                       r"\(the header has 47\).*cut off mid-download\?"):
        load_period(_ws(month_dir), PERIOD)


def test_a_quote_left_open_at_the_end_is_an_error(month_dir: Path) -> None:
    data = MS.read_bytes().rstrip(b"\r\n")
    cut = data.rindex(b'"[""15.0%')  # inside the quoted PriceAdjustmentDescription
    (month_dir / MS.name).write_bytes(data[: cut + 12])
    with pytest.raises(InputFileError, match=r"never closed: cut off mid-download\?"):
        load_period(_ws(month_dir), PERIOD)


def test_a_ragged_row_in_the_middle_stays_a_quarantined_row(month_dir: Path) -> None:
    text = _delivered([{}] * 9 + [{"charge_end": "2026-10-31,extra"}] + [{}] * 5)
    (month_dir / "usage.csv").write_text(text.rstrip("\n"), encoding="utf-8")  # no final EOL
    loaded = load_period(_ws(month_dir), PERIOD)
    assert loaded.quarantine[["row", "reason"]].values.tolist() == [[10, "ragged_row"]]


# --- the same content twice ------------------------------------------------------------------


def test_a_byte_identical_copy_is_read_once_and_listed(month_dir: Path) -> None:
    shutil.copy(ITEMS, month_dir / "pax8 items.json")
    shutil.copy(ITEMS, month_dir / "pax8 items (1).json")
    shutil.copy(ITEMS, month_dir / "Copy of pax8 items.json")
    loaded = load_period(_ws(month_dir), PERIOD)
    assert len(loaded.delivered) == 8  # once, not three times
    assert loaded.duplicates == {"Copy of pax8 items.json": "pax8 items.json",
                                 "pax8 items (1).json": "pax8 items.json"}
    inv = loaded.inventory.set_index("file")
    copy = inv.loc["pax8 items (1).json"]
    assert (copy["rows_read"], copy["rows_used"], copy["duplicate_of"]) == (0, 0,
                                                                            "pax8 items.json")
    assert copy["sha256"] == inv.loc["pax8 items.json", "sha256"]
    assert copy["format"] == "pax8_invoice_items"
    assert "byte-identical to pax8 items.json: not read" in copy["note"]
    assert inv.loc["pax8 items.json", "duplicate_of"] == ""


def test_a_second_download_of_the_same_records_is_an_error(month_dir: Path) -> None:
    shutil.copy(ITEMS, month_dir / "items.json")
    doc = json.loads(ITEMS.read_text(encoding="utf-8"))
    doc["content"][0]["quantity"] += 1  # corrected since: other bytes, same ids
    (month_dir / "items-2.json").write_text(json.dumps(doc, separators=(",", ":")))
    with pytest.raises(InputFileError) as info:
        load_period(_ws(month_dir), PERIOD)
    message = str(info.value)
    assert message.startswith("items.json: holds 8 record(s) that items-2.json holds too")
    assert f"id {doc['content'][0]['id']!r}" in message


def test_one_invoice_downloaded_twice_is_an_error(month_dir: Path) -> None:
    text = MS.read_text(encoding="utf-8-sig")
    head, *lines = text.splitlines(keepends=True)
    (month_dir / "a.csv").write_text(head + "".join(lines[:5]), encoding="utf-8")
    (month_dir / "b.csv").write_text(head + "".join(lines[3:9]), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"b\.csv: holds 1 document\(s\) that a\.csv holds "
                       r"too \(InvoiceNumber 'G032145678'\)"):
        load_period(_ws(month_dir), PERIOD)


def test_different_invoices_in_two_files_load(month_dir: Path) -> None:
    text = MS.read_text(encoding="utf-8-sig")
    head, *lines = text.splitlines(keepends=True)
    mine = [line for line in lines if ",G032145679," in line]
    rest = [line for line in lines if ",G032145679," not in line]
    (month_dir / "a.csv").write_text(head + "".join(rest), encoding="utf-8")
    (month_dir / "b.csv").write_text(head + "".join(mine), encoding="utf-8")
    assert len(load_period(_ws(month_dir), PERIOD).delivered) == 13


def test_the_cli_and_notebook_01_show_copies_and_notes(
        month_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ITEMS, month_dir / "items.json")
    shutil.copy(ITEMS, month_dir / "items (1).json")
    code = main(["reconcile", "--workspace", str(month_dir.parents[1]), "--period", "2026-10"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "note: items (1).json: byte-identical to items.json: not read (counted once)" in out
    table = inventory(reconcile_period(_ws(month_dir), PERIOD))
    assert "not read, byte-identical copies: items (1).json (of items.json)" in table.caption
    assert {"dates_from", "dates_to", "note"} <= set(table.frame.columns)
