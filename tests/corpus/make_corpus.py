"""Write the binary and byte-exact files of the bad-input corpus (re-runnable, deterministic).

Text files of the corpus are committed as they are; the files whose bytes matter (BOMs,
UTF-16, cp1252, an invalid byte, CRLF) and the XLSX workbooks are written here. The XLSX files
are assembled from their XML parts rather than with openpyxl, because openpyxl cannot write a
formula's saved result (what Excel stores next to the formula), and because fixed zip
timestamps keep the output identical on every run.

Usage:
    python tests/corpus/make_corpus.py            # rewrites the files next to this script
    python tests/corpus/make_corpus.py OUT_DIR    # writes them somewhere else

``tests/test_corpus.py`` checks that the committed files are what this script writes.
"""

from __future__ import annotations

import codecs
import io
import struct
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

HEADER = (
    "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
    "currency,charge_start,charge_end"
)
COLUMNS = HEADER.split(",")
ZIP_TIME = (2026, 10, 1, 0, 0, 0)


def _rows(*rows: str, end: str = "\n") -> str:
    return end.join((HEADER, *rows)) + end


# --- text files whose bytes matter --------------------------------------------------------

MUELLER = "dropsuite,0072,Müller & Söhne GmbH,DS-M365-BACKUP,\"Dropsuite M365 backup, €/mailbox\""
SOCIETE = "dropsuite,0073,Société Générale SA,DS-M365-BACKUP,Dropsuite M365 backup"


def text_files() -> dict[str, bytes]:
    """Name -> bytes of the encoding and line-ending cases."""
    plain = _rows(
        f"{MUELLER},12,1.875,EUR,2026-10-01,2026-10-31",
        f"{SOCIETE},7,1.875,EUR,2026-10-01,2026-10-31",
        end="\r\n",
    )
    invalid = _rows(
        f"{MUELLER},12,1.875,EUR,2026-10-01,2026-10-31",
        "dropsuite,0074,Caf@@ Noir SARL,DS-M365-BACKUP,Dropsuite M365 backup,3,1.875,EUR,"
        "2026-10-01,",
    )
    crlf = _rows(
        'ninjaone,NJ-00417,"Fabrikam, Inc.\r\nAccounts Payable",ninja-rmm-workstation,'
        "NinjaOne RMM workstation,48,2.75,USD,2026-10-01,",
        "ninjaone,NJ-00521,Contoso Dental,ninja-rmm-workstation,NinjaOne RMM workstation,"
        "17,2.75,USD,2026-10-01,",
        end="\r\n",
    )
    huntress = (
        '{"organizations": [{"id": 104512, "account_id": 5067, "name": "Müller & Söhne GmbH", '
        '"key": "mueller-soehne", "agents_count": 12, "created_at": "2024-06-03T08:01:44Z"}], '
        '"pagination": {"current_page": 1, "limit": 500, "total_count": 1}}\n'
    )
    return {
        "enc_utf8_bom.csv": codecs.BOM_UTF8 + plain.encode("utf-8"),
        "enc_utf16le_bom.csv": codecs.BOM_UTF16_LE + plain.encode("utf-16-le"),
        "enc_utf16be_bom.csv": codecs.BOM_UTF16_BE + plain.encode("utf-16-be"),
        "enc_utf16le_nobom.csv": plain.encode("utf-16-le"),
        "enc_utf16le_nobom_declared.csv": plain.encode("utf-16-le"),
        "enc_cp1252.csv": plain.encode("cp1252"),
        # 0x81 is undefined in cp1252 and invalid in UTF-8: no guess can decode it
        "enc_invalid_byte.csv": invalid.encode("cp1252").replace(b"@@", b"\x81"),
        "enc_declared_wrong.csv": plain.encode("cp1252"),
        "struct_crlf.csv": crlf.encode("utf-8"),
        "json_bom.json": codecs.BOM_UTF8 + huntress.encode("utf-8"),
        # 5000 nested arrays: Python's JSON parser gives up with RecursionError
        "json_deep_nesting.json": b'{"organizations": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
        # an OLE2 header (legacy .xls) followed by the kind of bytes such files hold
        "legacy_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"\x09\x08\x10\x00",
        "xlsx_not_a_zip.xlsx": _rows("ninjaone,NJ-00417,Fabrikam,ws,Workstation,48,2.75,USD,"
                                     "2026-10-01,").encode("utf-8"),
    }


# --- XLSX from XML parts ------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLES = (
    f'{DECL}<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    # style 1: m/d/yyyy (built-in 14); style 2: m/d/yyyy h:mm (built-in 22)
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)


@dataclass(frozen=True)
class Num:
    """A number cell; ``style`` 1 is a date format, 2 a date-time format."""

    value: str
    style: int = 0


@dataclass(frozen=True)
class Formula:
    """A formula cell with its saved result (``cached`` None: no result saved)."""

    formula: str
    cached: str | None = None
    text: bool = False  # the result is a string (t="str")


Cell = str | Num | Formula | None


@dataclass(frozen=True)
class Sheet:
    """One worksheet: rows of cells (row 1 first), merged ranges, or raw XML instead."""

    name: str
    rows: Sequence[Sequence[Cell]] = ()
    merged: Sequence[str] = ()
    raw_xml: str | None = None


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _cell_xml(ref: str, cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(cell)}</t></is></c>'
    if isinstance(cell, Num):
        style = f' s="{cell.style}"' if cell.style else ""
        return f'<c r="{ref}"{style}><v>{cell.value}</v></c>'
    kind = ' t="str"' if cell.text else ""
    value = "" if cell.cached is None else f"<v>{escape(cell.cached)}</v>"
    return f'<c r="{ref}"{kind}><f>{escape(cell.formula)}</f>{value}</c>'


def sheet_xml(sheet: Sheet) -> str:
    """The worksheet part of one sheet."""
    if sheet.raw_xml is not None:
        return sheet.raw_xml
    width = max((len(r) for r in sheet.rows), default=1)
    parts = [f'{DECL}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">']
    parts.append(f'<dimension ref="A1:{_col(width - 1)}{max(len(sheet.rows), 1)}"/><sheetData>')
    for r, row in enumerate(sheet.rows, start=1):
        cells = "".join(_cell_xml(f"{_col(c)}{r}", v) for c, v in enumerate(row))
        parts.append(f'<row r="{r}">{cells}</row>')
    parts.append("</sheetData>")
    if sheet.merged:
        refs = "".join(f'<mergeCell ref="{m}"/>' for m in sheet.merged)
        parts.append(f'<mergeCells count="{len(sheet.merged)}">{refs}</mergeCells>')
    parts.append("</worksheet>")
    return "".join(parts)


def xlsx_parts(sheets: Sequence[Sheet]) -> dict[str, str]:
    """Zip member name -> XML text of a minimal workbook holding ``sheets``."""
    n = len(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    types = (
        f'{DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>"
    )
    root_rels = (
        f'{DECL}<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
        f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    sheet_entries = "".join(
        f'<sheet name="{escape(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    workbook = (
        f'{DECL}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f"<sheets>{sheet_entries}</sheets></workbook>"
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n + 1)
    )
    wb_rels = (
        f'{DECL}<Relationships xmlns="{PKG_REL_NS}">{rels}'
        f'<Relationship Id="rId{n + 1}" Type="{REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )
    parts = {
        "[Content_Types].xml": types,
        "_rels/.rels": root_rels,
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": wb_rels,
        "xl/styles.xml": STYLES,
    }
    for i, s in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = sheet_xml(s)
    return parts


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    """A zip with fixed timestamps and member order (same bytes on every run)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def deflate(data: bytes) -> tuple[bytes, int, int]:
    """Raw deflate of ``data``, with its crc32 and size (a zip member's ingredients)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def raw_zip(members: Sequence[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated members ``(name, data, crc32, declared size)``.

    The declared size is written as given, so a test can build a zip whose headers lie.
    """
    stamp = ((ZIP_TIME[0] - 1980) << 9) | (ZIP_TIME[1] << 5) | ZIP_TIME[2]
    body, central = io.BytesIO(), io.BytesIO()
    for name, data, crc, size in members:
        raw, offset = name.encode(), body.tell()
        body.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, stamp, crc, len(data),
                               size, len(raw), 0) + raw + data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, stamp,
                                  crc, len(data), size, len(raw), 0, 0, 0, 0, 0o644 << 16,
                                  offset) + raw)
    cd = central.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd),
                      body.tell(), 0)
    return body.getvalue() + cd + end


def bomb_sheet_stream(mib: int) -> tuple[bytes, int, int]:
    """Sheet XML of ``mib`` MiB (one giant cell) deflated ~1000:1: (data, crc32, size).

    After a full flush every identical 1 MiB chunk deflates to identical bytes, so the stream
    is assembled from one compressed block instead of compressing ``mib`` MiB.
    """
    head = f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    tail = "</t></is></c></row></sheetData></worksheet>"
    chunk = b"A" * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head.encode()) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail.encode()) + c.flush()
    crc = zlib.crc32(head.encode())
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail.encode(), crc)
    return first + block * mib + last, crc, len(head) + mib * len(chunk) + len(tail)


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> None:
    """Write a workbook of ``sheets`` to ``path``."""
    write_zip(path, {k: v.encode("utf-8") for k, v in xlsx_parts(sheets).items()})


def _usage(*rows: Sequence[Cell]) -> list[Sequence[Cell]]:
    return [COLUMNS, *rows]


def _row(cid: str, name: str, sku: str, qty: Cell, cost: Cell, start: Cell, end: Cell = None):
    return ["ninjaone", cid, name, sku, "NinjaOne RMM " + sku.rsplit("-", 1)[-1], qty, cost,
            "USD", start, end]


FAB = ("NJ-00417", "Fabrikam, Inc.")
CON = ("NJ-00521", "Contoso Dental")
WS, SRV = "ninja-rmm-workstation", "ninja-rmm-server"
NOTES = [["Read me"], ["Exported from the NinjaOne billing portal, October 2026."],
         ["Figures are per device; servers and workstations are billed separately."]]


def entity_bomb_sheet() -> str:
    """Sheet XML declaring nested entities ("billion laughs": 10^9 'lol' if expanded)."""
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE worksheet [{"".join(ents)}]>\n'
        f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1">'
        '<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )


def workbooks() -> dict[str, list[Sheet]]:
    """Name -> sheets of every XLSX case."""
    fab_ws = _row(*FAB, WS, Num("48"), Num("2.75"), "2026-10-01")
    fab_srv = _row(*FAB, SRV, Num("4"), Num("9.5"), "2026-10-01")
    con_ws = _row(*CON, WS, Num("17"), Num("2.75"), "2026-10-01")
    usage = Sheet("Usage", _usage(fab_ws, fab_srv, con_ws))
    summary = Sheet("Summary", [["customer", "devices", "total"],
                                ["Fabrikam, Inc.", Num("52"), Num("170")]])
    merged_header = list(COLUMNS)
    merged_header.insert(3, None)  # the name header spans C1:D1; D1 holds nothing
    merged_row = list(fab_ws)
    merged_row.insert(3, "Accounts Payable")
    title = ["NinjaOne usage report, October 2026"] + [None] * 9
    return {
        "xlsx_two_sheets.xlsx": [usage, summary],
        "xlsx_named_sheet.xlsx": [Sheet("Read me", NOTES), Sheet("Usage", _usage(fab_ws, con_ws))],
        "xlsx_notes_sheet_first.xlsx": [Sheet("Read me", NOTES), Sheet("Usage", _usage(fab_ws))],
        "xlsx_sheet_missing.xlsx": [Sheet("Nutzung", _usage(fab_ws))],
        "xlsx_merged_header.xlsx": [Sheet("Usage", [merged_header, merged_row], merged=["C1:D1"])],
        "xlsx_merged_title.xlsx": [Sheet("Usage", [title, COLUMNS, fab_ws, con_ws],
                                         merged=["A1:J1"])],
        "xlsx_formula_cached.xlsx": [Sheet("Usage", _usage(
            _row(*FAB, WS, Formula("SUM(10,2)", "12"), Formula("ROUND(2.754,2)", "2.75"),
                 Formula('TEXT(DATE(2026,10,1),"yyyy-mm-dd")', "2026-10-01", text=True),
                 Formula('IF(TRUE,"","x")', "", text=True)),
            [*_row("NJ-00521", "", SRV, Num("3"), Num("9.5"), "2026-10-01")[:2],
             Formula('"Contoso"&" Dental"', "Contoso Dental", text=True),
             *_row(*CON, SRV, Num("3"), Num("9.5"), "2026-10-01")[3:]],
        ))],
        "xlsx_formula_uncached.xlsx": [Sheet("Usage", _usage(
            fab_ws, _row(*CON, WS, Formula("F2-31"), Num("2.75"), "2026-10-01"),
        ))],
        "xlsx_dates_as_numbers.xlsx": [Sheet("Usage", _usage(
            _row(*FAB, WS, Num("48"), Num("2.75"), Num("46296", 1), Num("46326", 1)),
            _row(*CON, WS, Num("17"), Num("2.75"), Num("46310.5", 2), Num("46326", 1)),
        ))],
        "xlsx_date_number_unformatted.xlsx": [Sheet("Usage", _usage(
            _row(*FAB, WS, Num("48"), Num("2.75"), Num("46296")), con_ws,
        ))],
        "xlsx_ids.xlsx": [Sheet("Usage", _usage(
            _row("0072", "Müller & Söhne GmbH", WS, Num("12"), Num("2.75"), "2026-10-01"),
            # Excel keeps 15 significant digits: an 18-19 digit ID typed in is saved like this
            _row(Num("1.47829660115286E+18"), "Fabrikam, Inc.", WS, Num("47"), Num("2.75"),
                 "2026-10-01"),
            _row(Num("104512"), "Contoso Dental", WS, Num("17"), Num("2.75"), "2026-10-01"),
        ))],
        "xlsx_ragged_extra_cells.xlsx": [Sheet("Usage", _usage(
            [*fab_ws, None, "see note"], [*con_ws, None, None],
        ))],
        "xlsx_empty_sheet.xlsx": [Sheet("Usage", [])],
        "xlsx_entity_bomb.xlsx": [Sheet("Usage", raw_xml=entity_bomb_sheet())],
    }


def build(out: Path) -> list[str]:
    """Write every generated corpus file into ``out``; returns their names."""
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for name, data in text_files().items():
        (out / name).write_bytes(data)
        names.append(name)
    for name, sheets in workbooks().items():
        write_xlsx(out / name, sheets)
        names.append(name)
    whole = (out / "xlsx_two_sheets.xlsx").read_bytes()
    (out / "xlsx_truncated.xlsx").write_bytes(whole[: len(whole) * 3 // 5])
    names.append("xlsx_truncated.xlsx")
    return sorted(names)


if __name__ == "__main__":
    OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    print("\n".join(str(OUT / name) for name in build(OUT)))
