"""Reading messy files exactly: encodings, delimiters, quoting, ragged rows, empty files, JSON.

Small inline files in the canonical delivered layout (the easiest carrier) are loaded through
``load_period``, the way a user's month folder is.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod, load_file, load_period

HEADER = (
    "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
    "currency,charge_start,charge_end"
)
FIXTURES = Path(__file__).parent / "fixtures" / "formats"


def _line(cid: str = "C-1", name: str = "Fabrikam", qty: str = "5", sep: str = ",") -> str:
    return sep.join(
        ["ninjaone", cid, name, "ws", "Workstation", qty, "2.75", "USD", "2026-10-01", ""]
    )


def _load(month_dir: Path, name: str, content: str | bytes) -> LoadedPeriod:
    data = content.encode("utf-8") if isinstance(content, str) else content
    (month_dir / name).write_bytes(data)
    return load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))


def _inventory(loaded: LoadedPeriod, name: str = "x.csv") -> dict:
    return loaded.inventory.set_index("file").loc[name].to_dict()


def _reasons(loaded: LoadedPeriod) -> dict[int, str]:
    return dict(zip(loaded.quarantine["row"], loaded.quarantine["reason"], strict=True))


# --- encodings -------------------------------------------------------------------------------


def test_utf8_with_bom_header_is_recognised(month_dir: Path) -> None:
    text = f"{HEADER}\n{_line(name='Müller GmbH')}\n"
    loaded = _load(month_dir, "x.csv", codecs.BOM_UTF8 + text.encode("utf-8"))
    assert _inventory(loaded)["encoding"] == "utf-8-sig"
    assert loaded.delivered["vendor"].tolist() == ["ninjaone"]  # BOM not glued to "vendor"
    assert loaded.delivered["vendor_customer_name"].tolist() == ["Müller GmbH"]


def test_utf16_with_bom(month_dir: Path) -> None:
    text = f"{HEADER}\r\n{_line(name='Société Générale')}\r\n{_line(cid='C-2')}\r\n"
    loaded = _load(month_dir, "x.csv", text.encode("utf-16"))
    assert _inventory(loaded)["encoding"] == "utf-16"
    assert loaded.delivered["vendor_customer_name"].tolist() == ["Société Générale", "Fabrikam"]
    assert loaded.delivered["source"].tolist() == ["x.csv:1", "x.csv:2"]


def test_cp1252_is_decoded_and_reported(month_dir: Path) -> None:
    text = f"{HEADER}\n{_line(name='Café Müller')}\n"
    loaded = _load(month_dir, "x.csv", text.encode("cp1252"))
    assert _inventory(loaded)["encoding"] == "cp1252"
    assert loaded.delivered["vendor_customer_name"].tolist() == ["Café Müller"]


def test_byte_neither_utf8_nor_cp1252_names_file_and_line(month_dir: Path) -> None:
    # é (0xE9) is fine in cp1252; 0x81 on line 3 is undefined in both encodings
    data = f"{HEADER}\n{_line(name='Café')}\n".encode("cp1252") + _line(name="Bad\x81").encode(
        "latin-1"
    )
    with pytest.raises(InputFileError, match=r"x\.csv: byte 0x81 .*\(line 3\)"):
        _load(month_dir, "x.csv", data)


# --- delimiters and quoting ------------------------------------------------------------------


@pytest.mark.parametrize("sep", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_delimiter_is_sniffed(month_dir: Path, sep: str) -> None:
    text = (
        HEADER.replace(",", sep) + "\n" + _line(sep=sep) + "\n" + _line(cid="C-2", sep=sep) + "\n"
    )
    (month_dir / "x.csv").write_text(text, encoding="utf-8")
    assert load_file(month_dir / "x.csv").raw.delimiter == sep
    loaded = load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))
    assert loaded.delivered["vendor_customer_id"].tolist() == ["C-1", "C-2"]
    assert loaded.delivered["quantity"].tolist() == [50_000, 50_000]


def test_quoted_comma_and_embedded_newline_keep_record_numbers(month_dir: Path) -> None:
    text = "\n".join(
        [
            HEADER,
            _line(cid="C-1", name='"Fabrikam, Inc."'),
            _line(cid="C-2", name='"Contoso\nDental\nGroup"'),
            _line(cid="C-3", name="Northwind"),
            _line(cid="C-4", name="Tailspin", qty="x"),
        ]
    )
    loaded = _load(month_dir, "x.csv", text + "\n")
    d = loaded.delivered.set_index("vendor_customer_id")
    assert d.loc["C-1", "vendor_customer_name"] == "Fabrikam, Inc."
    assert d.loc["C-2", "vendor_customer_name"] == "Contoso\nDental\nGroup"
    # record numbers, not line numbers: C-3 sits on line 7 of the file
    assert d.loc["C-3", "source"] == "x.csv:3"
    assert _reasons(loaded) == {4: "bad_number"}


def test_unbalanced_quote_is_an_error(month_dir: Path) -> None:
    text = f"{HEADER}\n{_line()}\n{_line(name=chr(34) + 'Fabrikam, Inc.')}\n{_line()}\n"
    with pytest.raises(InputFileError, match=r"x\.csv:2: malformed CSV.*line 3.*unbalanced quote"):
        _load(month_dir, "x.csv", text)


def test_ragged_rows_are_quarantined_with_their_rows(month_dir: Path) -> None:
    text = "\n".join(
        [
            HEADER,
            _line(cid="C-1"),
            _line(cid="C-2") + ",surplus",  # too many fields
            _line(cid="C-3"),
            "ninjaone,C-4,Fabrikam,ws",  # too few
            _line(cid="C-5"),
        ]
    )
    loaded = _load(month_dir, "x.csv", text + "\n")
    assert _reasons(loaded) == {2: "ragged_row", 4: "ragged_row"}
    q = loaded.quarantine.set_index("row")
    assert q.loc[2, "detail"] == "11 fields, header has 10"
    assert q.loc[4, "detail"] == "4 fields, header has 10"
    assert (q["file"] == "x.csv").all()
    assert loaded.delivered["source"].tolist() == ["x.csv:1", "x.csv:3", "x.csv:5"]
    inv = _inventory(loaded)
    assert (inv["rows_read"], inv["rows_used"], inv["rows_quarantined"]) == (5, 3, 2)


def test_blank_lines_are_not_rows(month_dir: Path) -> None:
    text = f"{HEADER}\n\n{_line(cid='C-1')}\n\n\n{_line(cid='C-2')}\n"
    loaded = _load(month_dir, "x.csv", text)
    assert loaded.delivered["source"].tolist() == ["x.csv:1", "x.csv:2"]


# --- empty files and headers -----------------------------------------------------------------


def test_empty_file_is_an_error(month_dir: Path) -> None:
    with pytest.raises(InputFileError, match=r"x\.csv: .*empty"):
        _load(month_dir, "x.csv", b"")


def test_header_only_file_loads_zero_rows(month_dir: Path) -> None:
    loaded = _load(month_dir, "x.csv", HEADER + "\n")
    inv = _inventory(loaded)
    assert inv["format"] == "canonical_delivered"
    assert (inv["rows_read"], inv["rows_used"], inv["rows_quarantined"]) == (0, 0, 0)
    assert loaded.delivered.empty and loaded.quarantine.empty


def test_header_naming_a_column_twice_is_an_error(month_dir: Path) -> None:
    text = HEADER + ",Quantity\n" + _line() + ",7\n"
    with pytest.raises(InputFileError, match=r"x\.csv:0: header names column 'Quantity' twice"):
        _load(month_dir, "x.csv", text)


# --- JSON ------------------------------------------------------------------------------------


def test_truncated_json_names_line_and_column(month_dir: Path) -> None:
    text = (FIXTURES / "datto_rmm_sites.json").read_text(encoding="utf-8")
    cut = text[: len(text) // 2]
    with pytest.raises(InputFileError, match=r"sites\.json: not valid JSON at line \d+ column \d+"):
        _load(month_dir, "sites.json", cut)


def test_json_numbers_keep_every_digit(month_dir: Path) -> None:
    doc = json.loads((FIXTURES / "sentinelone_sites.json").read_text(encoding="utf-8"))
    # a tool that re-serialised the export wrote the IDs as bare numbers
    for site in doc["data"]["sites"]:
        site["id"] = int(site["id"])
    loaded = _load(month_dir, "s1.json", json.dumps(doc))
    assert "1478296601152864305" in loaded.delivered["vendor_customer_id"].tolist()
    assert "2001384476629385217" in loaded.delivered["vendor_customer_id"].tolist()
