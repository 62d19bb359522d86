"""Every registered format has a real-shaped fixture, is recognised as itself only, and loads.

Generic over ``recon_helpers.ingest.loaders.FORMATS``: a format added to the registry without a
fixture in ``tests/fixtures/formats/<format name>.<csv|json|xlsx>`` fails here.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from recon_helpers.core.errors import UnknownFormatError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import ROLES
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.ingest.raw import norm_header
from recon_helpers.ingest.readers import read_raw
from recon_helpers.ingest.registry import FORMATS, detect_format

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
EXTENSIONS = ("csv", "json", "xlsx")
BY_NAME = {f.name: f for f in FORMATS}


def _fixtures_of(name: str) -> list[Path]:
    return [p for ext in EXTENSIONS if (p := FIXTURES / f"{name}.{ext}").exists()]


def _all_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.suffix.lstrip(".") in EXTENSIONS)


def _records_in(path: Path) -> int:
    """Data rows counted without the project's readers (non-blank records after the header)."""
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = [
            r
            for r in book.worksheets[0].iter_rows(values_only=True)
            if any(v is not None for v in r)
        ]
        book.close()
        return len(rows) - 1
    text = path.read_bytes().decode("utf-8-sig")
    if path.suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:  # JSON Lines (the Microsoft export's line items)
            return sum(1 for line in text.splitlines() if line.strip())
        if isinstance(doc, list):
            return len(doc)
        lists = [v for v in doc.values() if isinstance(v, list)]
        lists += [
            w
            for v in doc.values()
            if isinstance(v, dict)
            for w in v.values()
            if isinstance(w, list)
        ]
        return max(len(v) for v in lists)
    first = text.split("\n", 1)[0]
    delim = max(",;\t|", key=first.count)
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim) if any(r)]
    return len(records) - 1


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_every_format_has_a_fixture(fmt) -> None:
    found = _fixtures_of(fmt.name)
    assert found, f"no fixture tests/fixtures/formats/{fmt.name}.<csv|json|xlsx>"
    for path in found:
        assert path.suffix.lstrip(".") in fmt.kinds, (
            f"{path.name}: {fmt.name} does not read that kind"
        )


def test_every_fixture_names_a_registered_format() -> None:
    orphans = [p.name for p in _all_fixtures() if p.stem not in BY_NAME]
    assert not orphans, f"fixtures without a registered format: {orphans}"


@pytest.mark.parametrize("path", _all_fixtures(), ids=lambda p: p.name)
def test_fixture_is_detected_as_itself_only(path: Path) -> None:
    raw = read_raw(path)
    assert detect_format(raw).name == path.stem
    # no other format of equal or larger signature also fits (that would be a coin toss)
    present = {norm_header(c) for c in raw.data.columns}
    own = BY_NAME[path.stem]
    rivals = [
        f.name
        for f in FORMATS
        if f is not own
        and raw.kind in f.kinds
        and f.normalized_signature() <= present
        and not ({norm_header(c) for c in f.excludes} & present)
        and (f.container is None or raw.kind != "json" or f.container == raw.container)
        and len(f.signature) >= len(own.signature)
    ]
    assert not rivals, f"{path.name} also fits {rivals}"


@pytest.mark.parametrize("path", _all_fixtures(), ids=lambda p: p.name)
def test_fixture_loads_with_rows_conserved(path: Path, month_dir: Path) -> None:
    shutil.copy(path, month_dir / path.name)
    # alone, a file that references another (additions -> agreements) loses every row as
    # unknown_reference, which would be an error ([quarantine] max_share); here only
    # conservation is checked
    (month_dir.parents[1] / "recon.toml").write_text("[quarantine]\nmax_share = 1\n")
    loaded = load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))
    inv = loaded.inventory.set_index("file").loc[path.name]
    assert inv["format"] == path.stem
    assert inv["rows_read"] == _records_in(path)
    assert inv["rows_read"] == inv["rows_used"] + inv["rows_quarantined"]
    if BY_NAME[path.stem].entity in ROLES:
        # a fixture is a clean, real-shaped export: every row should be usable on its own
        assert inv["rows_used"] == inv["rows_read"], loaded.quarantine.to_dict("records")


def test_unknown_header_names_file_and_closest_formats(month_dir: Path) -> None:
    # a canonical delivered file that lost its quantity column: close, but not it
    path = month_dir / "vendor_usage_oct.csv"
    path.write_text(
        "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,qty,unit_cost,"
        "currency,charge_start,charge_end\nninjaone,NJ-1,Fabrikam,ws,Workstation,4,2.75,USD,,\n",
        encoding="utf-8",
    )
    with pytest.raises(UnknownFormatError, match=r"vendor_usage_oct\.csv") as info:
        load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))
    message = str(info.value)
    assert "closest known formats" in message
    assert "canonical_delivered (missing quantity)" in message


def test_unknown_json_keys_are_an_error_not_a_skip(month_dir: Path) -> None:
    (month_dir / "export.json").write_text(
        json.dumps({"results": [{"deviceId": 1, "hostname": "ws-01"}]}), encoding="utf-8"
    )
    with pytest.raises(UnknownFormatError, match=r"export\.json: format not recognised"):
        load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))
