"""Issue 12 item 7: damaged or re-saved files give the planted findings or exit 2 naming the
file and the problem, never other findings with an ordinary exit status.

Each case starts from the base month's bytes and changes one file the way a spreadsheet
re-save, a second download or a cut connection does (tests/unseen/damage.py).
"""

from __future__ import annotations

from tests.unseen import damage, variants
from tests.unseen.expected import evaluate
from tests.unseen.run import (
    Result,
    assert_findings,
    assert_refused,
    differences,
    reconcile,
    require,
)
from tests.unseen.workspace import (
    base_files,
    base_month,
    canonical_billed,
    month_files,
    write_workspace,
)
from tests.unseen.write_microsoft import file_name, render, rows
from tests.unseen.write_pax8 import ITEMS_FILE
from tests.unseen.write_psa import FILES as CW

MS_FILE = file_name(base_month().period)
COPY = "pax8-invoice-items (1).json"


def run(tmp_path, files, settings=None, month=None, **kw) -> Result:  # type: ignore[no-untyped-def]
    """Reconcile the base month (or ``month``) with some files replaced."""
    extra = {} if settings is None else {"settings": settings}
    book = write_workspace(tmp_path / "data", month or base_month(), files=files, **extra, **kw)
    return reconcile(book)


def planted_or_refused(result: Result, *names: str) -> None:
    """Either exactly the planted findings, or exit 2 naming ``names``."""
    if result.code == 2:
        assert_refused(result, *names)
    else:
        assert_findings(result, evaluate(base_month()))


def declare(name: str, **options: object) -> str:
    """recon.toml declaring options for one input file."""
    body = "".join(f"{k} = {v!r}\n".replace("True", "true") for k, v in options.items())
    return f'currency = "USD"\n\n[files."{name}"]\n{body}'.replace("'", '"')


def test_partner_center_resaved_day_first(tmp_path):
    data = damage.resave_day_first(base_files()[MS_FILE])
    require(b"15/10/2026" in data and b",5/10/2026," in data, "day-first dates of both kinds")
    planted_or_refused(run(tmp_path, {MS_FILE: data}), MS_FILE)


def test_partner_center_resaved_day_first_declared_dmy(tmp_path):
    data = damage.resave_day_first(base_files()[MS_FILE])
    result = run(tmp_path, {MS_FILE: data}, settings=declare(MS_FILE, date_format="dmy"))
    assert_findings(result, evaluate(base_month()))


def test_pax8_export_holding_one_of_two_pages(tmp_path):
    data = damage.pax8_first_page(base_files()[ITEMS_FILE], size=6)
    assert_refused(run(tmp_path, {ITEMS_FILE: data}), ITEMS_FILE)


def test_pax8_export_saved_twice_identical(tmp_path):
    data = base_files()[ITEMS_FILE]
    assert_findings(run(tmp_path, {COPY: data}), evaluate(base_month()))


def test_pax8_export_saved_twice_with_a_difference(tmp_path):
    data = damage.pax8_redownload(base_files()[ITEMS_FILE])
    assert_refused(run(tmp_path, {COPY: data}), ITEMS_FILE, COPY)


def test_same_month_in_other_valid_shapes(tmp_path):
    """Controls for the cases below: the Pax8 listing saved as its two pages, and the invoice
    lines as SPEC's canonical billed CSV instead of ConnectWise invoices, give the planted
    findings."""
    first, second = damage.pax8_pages(base_files()[ITEMS_FILE], size=6)
    files = {ITEMS_FILE: first, "pax8-invoice-items-page2.json": second}
    assert_findings(run(tmp_path, files, billed="canonical"), evaluate(base_month()))


def test_canonical_billed_resaved_by_excel(tmp_path):
    data = damage.resave_canonical_billed(canonical_billed(base_month()))
    require(b'"1,500.00"' in data and b",10/1/2026," in data, "an Excel-formatted re-save")
    assert_refused(run(tmp_path, {"billed.csv": data}, billed="canonical"), "billed.csv")


def test_partner_center_cut_mid_record(tmp_path):
    data = damage.cut_mid_record(base_files()[MS_FILE])
    require(not data.endswith(b"\n"), "the file ends inside a record")
    assert_refused(run(tmp_path, {MS_FILE: data}), MS_FILE)


CUT_ROWS = 3


def test_partner_center_cut_at_a_line_end(tmp_path):
    """Cut at a line break the file is a well-formed shorter file: the Partner Center CSV has
    no footer or total to miss (the invoice total is outside the workspace). Accepted: exit 2
    naming the file, or exactly the findings of the rows that arrived (open or held)."""
    data = damage.cut_at_line_end(base_files()[MS_FILE], CUT_ROWS)
    short, clients = variants.partner_center_cut(CUT_ROWS)
    require(data == render(rows(short)), "the cut file is the shorter month's file")
    result = run(tmp_path, {MS_FILE: data})
    if result.code == 2:
        assert_refused(result, MS_FILE)
        return
    assert_findings(result, evaluate(short), statuses=False)
    for row in result.findings:
        allowed = {"open", "held"} if row["client_id"] in clients else {"open"}
        assert row["status"] in allowed, row


def test_partner_center_resaved_semicolon_decimal_comma(tmp_path):
    data = damage.resave_semicolon_decimal_comma(base_files()[MS_FILE])
    require(b";18,70;" in data and b";10,625;" in data, "decimal commas")
    assert_refused(run(tmp_path, {MS_FILE: data}), MS_FILE)


def test_partner_center_resaved_semicolon_decimal_comma_declared(tmp_path):
    data = damage.resave_semicolon_decimal_comma(base_files()[MS_FILE])
    result = run(tmp_path, {MS_FILE: data}, settings=declare(MS_FILE, decimal_comma=True))
    assert_findings(result, evaluate(base_month()))


def test_pax8_credit_with_negative_quantity_and_price(tmp_path):
    month, expected = variants.pax8_credit()
    data = damage.negate_credit_prices(month_files(month)[ITEMS_FILE])
    require(b'"price": -3.25' in data and b'"cost": -2.65' in data, "a credit priced negative")
    assert_findings(run(tmp_path, {ITEMS_FILE: data}, month=month), expected)


def test_agreement_addition_without_quantity(tmp_path):
    month, others, row = variants.addition_without_quantity()
    result = run(tmp_path, {}, month=month)
    assert result.code in (0, 1), result.err[-2000:]
    key = variants.QUARANTINED
    on_key = [r for r in result.findings if (r["client_id"], r["product_id"]) == key]
    assert on_key, f"no held finding on {key}: the quarantined row explains nothing"
    where = (f"{CW['additions']}:{row}", f"row {row}")
    for r in on_key:
        assert r["status"] == "held" and "quarantined_row" in r["detail"], r
        assert any(w in r["detail"] for w in where), r["detail"]
    rest = [r for r in result.findings if (r["client_id"], r["product_id"]) != key]
    assert not differences(rest, others)
