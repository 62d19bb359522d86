"""Issue 12: months this project never saw, in real export shapes, through the CLI.

The month builder (tests/unseen/) writes a 31-client MSP's book in Partner Center, Pax8,
Huntress, Datto RMM, SentinelOne and ConnectWise shapes, with fourteen planted findings;
these tests hold ``recon reconcile`` to exactly those, on clean months, on months whose
vendors spell names the way they really do, with a source missing, an empty folder and under
``day_weighted``. Cases that fail on today's code carry ``xfail(strict=True)``: each turns into
a failure (XPASS) once fixed, prompting the marker's removal.
"""

from __future__ import annotations

import re

import pytest

from tests.unseen import variants
from tests.unseen.expected import declared, evaluate
from tests.unseen.plan import build_month
from tests.unseen.roster import CLIENTS, FORMS, REAL, VENDOR_OF
from tests.unseen.run import (
    assert_findings,
    assert_refused,
    differences,
    recon,
    reconcile,
)
from tests.unseen.workspace import EARLIER, PERIOD, base_month, write_workspace
from tests.unseen.write_snapshots import FILES as SNAPSHOTS


def test_builder_derives_the_declared_plan():
    """The rules applied to the plan give the hand-computed planted list (no workbook run)."""
    def flat(found):  # type: ignore[no-untyped-def]
        return sorted(((f.kind, f.client_id, f.product_id, f.impact) for f in found), key=str)

    assert flat(evaluate(base_month())) == sorted(declared(), key=str)
    assert flat(evaluate(build_month(PERIOD, steady=True))) == sorted(declared(), key=str)
    assert flat(evaluate(build_month(PERIOD, names=REAL))) == sorted(declared(), key=str)
    slots = {(c.client_id, c.vendor) for c in base_month().customers}
    assert {k for form in FORMS.values() for k in form} <= slots, "every spelling is used"
    ids = [(c.vendor, c.customer_id) for c in variants.ambiguous()[0].customers]
    assert len(ids) == len(set(ids)), "vendor customer ids are unique"


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The base month written and reconciled once, for the tests that only read the result."""
    book = write_workspace(tmp_path_factory.mktemp("base") / "data", base_month())
    return book, reconcile(book)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The month with every real spelling of FORMS at once, reconciled once."""
    month = build_month(PERIOD, names=REAL)
    book = write_workspace(tmp_path_factory.mktemp("real") / "data", month)
    return book, reconcile(book)


def test_clean_month_gives_exactly_the_planted_findings(base_run):
    book, result = base_run
    assert_findings(result, evaluate(book.target))
    assert result.code == 1  # open findings


def test_near_miss_names_never_auto_map(base_run):
    """'Contoso North' is neither Contoso East nor West; 'Northwind Trading' is neither
    Northwind nor Northwind Traders: both are unmapped customers, the four clients unmoved."""
    book, result = base_run
    near = {c.customer_id for c in book.target.customers
            if c.name in ("Contoso North", "Northwind Trading")}
    flagged = {r["vendor_customer"] for r in result.findings if r["kind"] == "unmapped_customer"}
    assert near <= flagged
    clients = {"ContosoEast", "ContosoWest", "Northwind", "NorthwindTraders"}
    assert not [r for r in result.findings if r["client_id"] in clients]


def test_month_as_vendors_really_spell_names(real_run):
    book, result = real_run
    assert_findings(result, evaluate(book.target))


@pytest.mark.parametrize("form", list(FORMS))
def test_name_form_maps_automatically(real_run, form):
    """Each real spelling maps to its client: on the keys that form's vendor customers feed,
    exactly the planted findings, and none of those customers unmapped."""
    book, result = real_run
    slots = FORMS[form]
    ids = {c.customer_id for c in book.target.customers if (c.client_id, c.vendor) in slots}
    keys = {(cid, p) for cid, v in slots for s in CLIENTS if s.client_id == cid
            for p, _ in s.services if VENDOR_OF.get(p) == v}
    unmapped = [r["detail"] for r in result.findings
                if r["kind"] == "unmapped_customer" and r["vendor_customer"] in ids]
    assert not unmapped
    rows = [r for r in result.findings if (r["client_id"], r["product_id"]) in keys]
    expected = [f for f in evaluate(book.target) if (f.client_id, f.product_id) in keys]
    assert not differences(rows, expected)


def test_name_matching_two_clients_is_ambiguous_not_mapped(tmp_path):
    month, expected = variants.ambiguous()
    result = reconcile(write_workspace(tmp_path / "data", month))
    assert_findings(result, expected)
    org = next(c for c in month.customers if c.name == variants.AMBIGUOUS_ORG)
    row = next(r for r in result.findings if r["vendor_customer"] == org.customer_id)
    assert "ambiguous" in row["detail"].lower(), row["detail"]


def test_missing_source_is_named_and_its_findings_held(tmp_path):
    month, expected = variants.missing_source("huntress")
    book = write_workspace(tmp_path / "data", month, files={SNAPSHOTS["huntress"]: None})
    result = reconcile(book)
    line = next((ln for ln in result.out.splitlines()
                 if re.search(r"missing:.*huntress", ln, re.IGNORECASE)), "")
    assert line and all(p in line for p in EARLIER), f"no 'missing: huntress ...' line:\n" \
        f"{result.out[:3000]}"
    assert_findings(result, expected)
    # not counted as credits: the summary's billed_not_delivered credit is the open one only
    bnd = [f.impact for f in expected if f.kind == "billed_not_delivered"]
    open_total = sum(f.impact for f in expected if f.kind == "billed_not_delivered"
                     and f.status == "open")
    summary = next(ln for ln in result.out.splitlines() if "billed_not_delivered" in ln)
    shown = {f"{open_total:.2f}", f"{open_total:,.2f}"}
    assert any(s in summary for s in shown), summary
    assert not {f"{sum(bnd):.2f}", f"{sum(bnd):,.2f}"} & set(summary.split()), summary


def test_empty_month_folder_is_an_error(tmp_path):
    book = write_workspace(tmp_path / "data", base_month())
    empty = book.root / "inputs" / "2026-11"
    empty.mkdir()
    result = recon("reconcile", "--workspace", book.root, "--period", "2026-11")
    assert_refused(result, "2026-11")
    assert "inputs" in result.text


def test_steady_month_under_month_end(tmp_path):
    """The book the day_weighted case runs on (cycles from the 15th, no mid-cycle change)
    gives the planted findings under the default rule."""
    month = build_month(PERIOD, steady=True)
    assert_findings(reconcile(write_workspace(tmp_path / "data", month)), evaluate(month))


def test_day_weighted_on_a_consistent_book_adds_nothing(tmp_path):
    month = build_month(PERIOD, steady=True)
    settings = 'currency = "USD"\nmonth_rule = "day_weighted"\n'
    book = write_workspace(tmp_path / "data", month, settings=settings)
    assert_findings(reconcile(book), evaluate(month))
