"""Slashed dates: the order is decided from the file as a whole and checked against the month.

Files are built the way they arrive: the Partner Center fixture opened and saved by Excel in a
day-first locale (every M/D/YYYY date rewritten D/M/YYYY, times kept), cut to the rows whose
dates say nothing about the order, or mixing both orders.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.dates import decide_order, fits, slashed_of
from recon_helpers.ingest.load import load_period

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
MS = FIXTURES / "microsoft_nce_invoice_recon.csv"
NAME = "G032145678.csv"
PERIOD = Period.parse("2026-10")
SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(.*)$")


def _rows() -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(MS.read_text(encoding="utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def _write(month_dir: Path, header: list[str], body: list[list[str]], toml: str = "") -> Workspace:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *body])
    (month_dir / NAME).write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    if toml:
        (month_dir.parents[1] / "recon.toml").write_text(toml, encoding="utf-8")
    return Workspace.open(month_dir.parents[1])


def _day_first(body: list[list[str]]) -> list[list[str]]:
    """Every M/D/YYYY value as D/M/YYYY (Excel in a UK locale), times kept."""
    def flip(v: str) -> str:
        m = SLASHED.match(v)
        return f"{m[2]}/{m[1]}/{m[3]}{m[4]}" if m else v
    return [[flip(v) for v in row] for row in body]


def _loaded_dates(ws: Workspace) -> pd.DataFrame:
    d = load_period(ws, PERIOD).delivered
    return d.set_index("source")[["charge_start", "charge_end", "quantity"]]


def test_day_first_resave_is_read_day_first_and_says_so(month_dir: Path, tmp_path: Path) -> None:
    header, body = _rows()
    original = _loaded_dates(_write(month_dir, header, body))
    other = tmp_path / "b" / "data" / "inputs" / "2026-10"
    other.mkdir(parents=True)
    ws = _write(other, header, _day_first(body))
    loaded = load_period(ws, PERIOD)
    got = loaded.delivered.set_index("source")[["charge_start", "charge_end", "quantity"]]
    pd.testing.assert_frame_equal(got, original)
    note = loaded.inventory.set_index("file").loc[NAME, "note"]
    assert note.startswith("dates read as D/M/YYYY, not the format's M/D/YYYY: ")
    assert "cannot be M/D/YYYY" in note
    assert loaded.notes == {NAME: note}


def test_month_first_file_has_no_note_and_its_coverage(month_dir: Path) -> None:
    header, body = _rows()
    loaded = load_period(_write(month_dir, header, body), PERIOD)
    inv = loaded.inventory.set_index("file").loc[NAME]
    assert inv["note"] == ""
    # the first ChargeStartDate and the last ChargeEndDate (the Renew runs to 10/27/2027)
    assert (inv["dates_from"], inv["dates_to"]) == ("2026-10-01", "2027-10-27")


def test_a_file_mixing_both_orders_is_an_error(month_dir: Path) -> None:
    header, body = _rows()
    body[1] = _day_first([body[1]])[0]  # one row re-typed by hand in the other order
    start = header.index("ChargeStartDate")
    with pytest.raises(InputFileError) as info:
        load_period(_write(month_dir, header, body), PERIOD)
    message = str(info.value)
    assert message.startswith(f"{NAME}:")
    assert "fit neither M/D/YYYY nor D/M/YYYY" in message
    assert body[1][start].split(" ")[0] in message  # 15/10/2026: impossible month-first
    assert f'[files."{NAME}"] date_format = "mdy" or "dmy"' in message


def test_declared_order_is_applied_strictly(month_dir: Path) -> None:
    header, body = _rows()
    body = _day_first(body)
    body[1] = [v.replace("15/10/2026", "10/15/2026") for v in body[1]]  # month-first again
    toml = f'[files."{NAME}"]\ndate_format = "dmy"\n'
    loaded = load_period(_write(month_dir, header, body, toml), PERIOD)
    q = loaded.quarantine
    assert q[["row", "reason"]].values.tolist() == [[2, "bad_date"]]  # no guessing, no error
    assert loaded.inventory.iloc[0]["note"] == ""


def _ambiguous_cycle(header: list[str], body: list[list[str]]) -> list[list[str]]:
    """The rows of the 10/5 - 11/4 cycle only, written D/M: every date also fits M/D."""
    cycle = [r for r in body if r[header.index("ChargeEndDate")].startswith("11/4/2026")]
    out = _day_first(cycle)
    for row in out:  # the other date columns of these rows hold days past the 12th
        for col in ("OrderDate", "PCToBCExchangeRateDate", "SubscriptionStartDate",
                    "SubscriptionEndDate"):
            row[header.index(col)] = ""
    return out


def test_all_ambiguous_dates_read_the_wrong_way_round_are_an_error(month_dir: Path) -> None:
    header, body = _rows()
    rows = _ambiguous_cycle(header, body)
    assert rows and all(fits(slashed_of(pd.Series(r)), "mdy").all() for r in rows)
    with pytest.raises(InputFileError) as info:
        load_period(_write(month_dir, header, rows), PERIOD)
    message = str(info.value)
    # read M/D, 5/10/2026 .. 4/11/2026 is 10 May .. 11 April
    assert message.startswith(f"{NAME}:1: read as M/D/YYYY, ")
    assert "end before they start" in message and "ChargeStartDate 5/10/2026 0:00" in message
    assert f'[files."{NAME}"] date_format = "dmy"' in message


def test_declaring_the_order_of_an_ambiguous_file_reads_it(month_dir: Path) -> None:
    header, body = _rows()
    toml = f'[files."{NAME}"]\ndate_format = "dmy"\n'
    d = _loaded_dates(_write(month_dir, header, _ambiguous_cycle(header, body), toml))
    assert set(d["charge_start"]) == {pd.Timestamp("2026-10-05"), pd.Timestamp("2026-10-09")}
    assert set(d["charge_end"]) == {pd.Timestamp("2026-11-04")}


def test_a_vendor_file_far_from_the_month_is_an_error(month_dir: Path) -> None:
    header, body = _rows()
    def two_years_back(v: str) -> str:
        return re.sub(r"/(20\d\d)", lambda m: f"/{int(m[1]) - 2}", v) if SLASHED.match(v) else v
    shifted = [[two_years_back(v) for v in row] for row in body]
    with pytest.raises(InputFileError, match=(
            rf"{re.escape(NAME)}:1: read as M/D/YYYY, none of its 13 dated lines comes within a "
            r"month of 2026-10 \(they run 2024-10-01 \.\. 2025-10-27\)")):
        load_period(_write(month_dir, header, shifted), PERIOD)


def test_dates_next_to_the_month_are_plausible(month_dir: Path) -> None:
    header, body = _rows()
    # a Partner Center file of the September billing period: stale maybe, not misread
    sept = [list(body[0])]
    sept[0][header.index("ChargeStartDate")] = "9/1/2026"
    sept[0][header.index("ChargeEndDate")] = "9/30/2026"
    inv = load_period(_write(month_dir, header, sept), PERIOD).inventory.iloc[0]
    assert (inv["dates_from"], inv["dates_to"]) == ("2026-09-01", "2026-09-30")


def test_snapshot_vendor_has_no_date_coverage(month_dir: Path) -> None:
    (month_dir / "sites.json").write_bytes((FIXTURES / "datto_rmm_sites.json").read_bytes())
    inv = load_period(Workspace.open(month_dir.parents[1]), PERIOD).inventory.iloc[0]
    assert (inv["dates_from"], inv["dates_to"]) == ("", "")


# --- the decision as a property -------------------------------------------------------------

dates = st.lists(
    st.tuples(st.integers(1, 31), st.integers(1, 31), st.integers(1990, 2040)),
    min_size=1, max_size=30,
)


@given(dates, st.sampled_from(["mdy", "dmy"]))
def test_the_order_chosen_fits_every_value(values: list[tuple[int, int, int]],
                                           default: str) -> None:
    """Property: the decision never picks an order in which some value is impossible; it keeps
    the format's order whenever that fits, and gives up only when neither does."""
    text = pd.Series([f"{a}/{b}/{y}" for a, b, y in values])
    frame = slashed_of(text)
    decision = decide_order(frame, default)  # type: ignore[arg-type]
    in_default = fits(frame, default).all()  # type: ignore[arg-type]
    in_other = fits(frame, "dmy" if default == "mdy" else "mdy").all()
    if decision.order is not None:
        assert fits(frame, decision.order).all()
    assert (decision.order == default) == bool(in_default)
    assert (decision.order is None) == (not in_default and not in_other)
    assert decision.switched == (not in_default and bool(in_other))


def test_partner_center_saved_as_xlsx_asks_for_iso(month_dir: Path) -> None:
    """Excel turns the M/D/YYYY text into date cells; saved as .xlsx they read as YYYY-MM-DD."""
    header, body = _rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in body:
        cells: list[object] = []
        for v in row:
            m = SLASHED.match(v)
            cells.append(datetime(int(m[3]), int(m[1]), int(m[2])) if m else v)
        sheet.append(cells)
    book.save(month_dir / "G032145678.xlsx")
    with pytest.raises(InputFileError, match=r"G032145678\.xlsx:1: 13 of its 13 rows are "
                       r"quarantined.*bad_date.*date_format = \"iso\""):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)
    toml = '[files."G032145678.xlsx"]\ndate_format = "iso"\n'
    (month_dir.parents[1] / "recon.toml").write_text(toml, encoding="utf-8")
    d = load_period(Workspace.open(month_dir.parents[1]), PERIOD).delivered
    assert len(d) == 13 and d["charge_start"].min() == pd.Timestamp("2026-10-01")
