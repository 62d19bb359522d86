"""The bad-input corpus: every file in tests/corpus/ gives the outcome recorded for it.

``tests/corpus/expected.toml`` records, per file, an error (message fragments naming the file
and, when known, the row), a quarantine (reason and count), or a clean load (rows and exact
parsed values). Each file is loaded alone through ``load_period`` from a fresh workspace, with
its ``recon_toml`` entry as ``[files."<name>"]``. Rows are always conserved.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import tomllib
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE, ROLES, QuarantineReason
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = CORPUS / "expected.toml"
NOT_CORPUS = {"expected.toml", "make_corpus.py", "__pycache__"}
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
KEYS = {
    "error": {"outcome", "message", "recon_toml"},
    "ok": {"outcome", "rows", "rows_read", "values", "inventory", "recon_toml", "table"},
    "quarantine": {
        "outcome", "reason", "count", "reasons", "rows", "rows_read", "quarantined", "values",
        "inventory", "recon_toml", "table",
    },
}
RECON_TOML_KEYS = {"format", "encoding", "delimiter", "decimal_comma", "date_format", "sheet"}


def _corpus_files() -> set[str]:
    return {p.name for p in CORPUS.iterdir() if p.name not in NOT_CORPUS}


def _load_make_corpus() -> Any:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while defined
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _workspace(tmp_path: Path, name: str, entry: dict[str, Any]) -> Workspace:
    root = tmp_path / "data"
    folder = root / "inputs" / "2026-10"
    folder.mkdir(parents=True)
    shutil.copyfile(CORPUS / name, folder / name)
    settings = entry.get("recon_toml", {})
    if settings:
        lines = [f"[files.{json.dumps(name)}]"]
        lines += [f"{key} = {_toml_value(v)}" for key, v in settings.items()]
        (root / "recon.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Workspace.open(root)


def _as_decimal(value: Any, scale: int) -> Decimal | None:
    return None if pd.isna(value) else Decimal(int(value)) / scale


def _check_value(table: str, frame: pd.DataFrame, name: str, spec: list[Any]) -> None:
    row, column, expected = spec
    hit = frame[frame["source"] == f"{name}:{row}"]
    assert len(hit) == 1, f"{name}:{row}: {len(hit)} rows in {table}, expected 1"
    value = hit.iloc[0][column]
    kind = ROLES[table].kinds().get(column, "text") if table in ROLES else "text"
    where = f"{name}:{row} {column}"
    if kind in ("money", "quantity"):
        scale = MONEY_SCALE if kind == "money" else QTY_SCALE
        want = Decimal(expected) if expected != "" else None
        assert _as_decimal(value, scale) == want, f"{where}: {value!r} != {expected!r}"
    elif kind == "date":
        got = "" if pd.isna(value) else value.date().isoformat()
        assert got == expected, f"{where}: {got!r} != {expected!r}"
    else:
        assert isinstance(value, str), f"{where}: {value!r} is not a str"
        assert value == expected, f"{where}: {value!r} != {expected!r}"


def test_every_corpus_file_has_an_entry_and_every_entry_a_file() -> None:
    files = _corpus_files()
    assert sorted(files - set(EXPECTED)) == [], "corpus files without an expected outcome"
    assert sorted(set(EXPECTED) - files) == [], "expected outcomes without a corpus file"
    assert len(files) >= 45


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_manifest_entry_is_well_formed(name: str) -> None:
    entry = EXPECTED[name]
    outcome = entry.get("outcome")
    assert outcome in KEYS, f"{name}: outcome {outcome!r}"
    assert set(entry) <= KEYS[outcome], f"{name}: unknown keys {set(entry) - KEYS[outcome]}"
    assert set(entry.get("recon_toml", {})) <= RECON_TOML_KEYS
    if outcome == "error":
        assert entry["message"] and entry["message"][0].startswith(name), (
            f"{name}: the first message fragment must name the file"
        )
    else:
        assert isinstance(entry["rows"], int)
    if outcome == "quarantine":
        reasons = entry.get("reasons") or {entry["reason"]: entry["count"]}
        assert set(reasons) <= {r.value for r in QuarantineReason}
        assert all(isinstance(n, int) and n > 0 for n in reasons.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_gives_its_recorded_outcome(tmp_path: Path, name: str) -> None:
    entry = EXPECTED[name]
    ws = _workspace(tmp_path, name, entry)
    if entry["outcome"] == "error":
        with pytest.raises(InputFileError) as info:
            load_period(ws, Period.parse("2026-10"))
        assert info.value.path.name == name
        for fragment in entry["message"]:
            assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"
        return

    loaded = load_period(ws, Period.parse("2026-10"))
    inv = loaded.inventory.set_index("file").loc[name]
    assert inv["rows_read"] == inv["rows_used"] + inv["rows_quarantined"]
    assert inv["rows_used"] == entry["rows"]
    if "rows_read" in entry:
        assert inv["rows_read"] == entry["rows_read"]
    for column, want in entry.get("inventory", {}).items():
        assert inv[column] == want, f"inventory {column}: {inv[column]!r} != {want!r}"

    q = loaded.quarantine[loaded.quarantine["file"] == name].sort_values("row", kind="stable")
    if entry["outcome"] == "ok":
        assert q.empty, q.to_dict("records")
    else:
        want = entry.get("reasons") or {entry["reason"]: entry["count"]}
        assert q["reason"].value_counts().to_dict() == want
        assert int(inv["rows_quarantined"]) == q["row"].nunique() == sum(want.values())
    if "quarantined" in entry:
        got = [
            [int(r.row), r.reason, r.column, r.value][: len(spec)]
            for r, spec in zip(q.itertuples(), entry["quarantined"], strict=True)
        ]
        assert got == entry["quarantined"]

    table = entry.get("table", inv["entity"])
    frame = loaded.tables[table]
    assert frame["source"].str.rsplit(":", n=1).str[0].eq(name).all()
    for spec in entry.get("values", []):
        _check_value(table, frame, name, spec)


def test_generated_files_are_what_make_corpus_writes(tmp_path: Path) -> None:
    """make_corpus.py is deterministic and the committed files are its current output."""
    names = _load_make_corpus().build(tmp_path)
    assert set(names) <= set(EXPECTED)
    for name in names:
        fresh, committed = tmp_path / name, CORPUS / name
        if zipfile.is_zipfile(fresh):
            # compare what is zipped: deflate output may differ between zlib builds
            with zipfile.ZipFile(fresh) as a, zipfile.ZipFile(committed) as b:
                assert a.namelist() == b.namelist(), name
                for member in a.namelist():
                    assert a.read(member) == b.read(member), f"{name}: {member}"
        elif name == "xlsx_truncated.xlsx":
            assert committed.stat().st_size > 0 and not zipfile.is_zipfile(committed)
        else:
            assert fresh.read_bytes() == committed.read_bytes(), name
