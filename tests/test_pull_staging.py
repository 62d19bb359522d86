"""The pieces under ``recon pull``: the month swap, the pull log in the loader, reading the
Microsoft export's gzip JSON Lines, and which source a hand-dropped file belongs to."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from recon_helpers.connect import staging
from recon_helpers.connect.provenance import PULL_LOG, origins
from recon_helpers.core.errors import InputFileError, UnknownFormatError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_file, load_period
from recon_helpers.ingest.readers import read_raw
from recon_helpers.ingest.sources import sources_of_file

FORMATS = Path(__file__).parent / "fixtures" / "formats"


def _log(files: list[dict]) -> str:
    return json.dumps({"kind": "recon-pull-log", "version": 1, "period": "2026-10",
                       "pulls": [{"files": files}]})


def _stage(inputs: Path, name: str, data: bytes) -> Path:
    folder = staging.new_staging(inputs, "2026-10")
    (folder / staging.NEW / name).write_bytes(data)
    return folder


def test_commit_swaps_in_links_old_files_and_moves_replaced_ones(month_dir: Path) -> None:
    inputs = month_dir.parent
    (month_dir / "keep.csv").write_text("client_id,client_name\nA,Alpha\n")
    (month_dir / "old-pax8.json").write_text("{}")
    inode = (month_dir / "keep.csv").stat().st_ino
    folder = _stage(inputs, "pax8-companies-p1.json", b'{"content": []}')
    moved = staging.commit(month_dir, folder, {"old-pax8.json"}, _log([]), "20261109T083000Z")
    assert moved == [{"file": "old-pax8.json",
                      "moved_to": ".replaced/20261109T083000Z/old-pax8.json"}]
    assert sorted(p.relative_to(month_dir).as_posix() for p in month_dir.rglob("*")
                  if p.is_file()) == [".replaced/20261109T083000Z/old-pax8.json", "keep.csv",
                                      "pax8-companies-p1.json", PULL_LOG]
    assert (month_dir / "keep.csv").stat().st_ino == inode  # linked, not copied
    assert not folder.exists()


def test_commit_without_renameat2_and_a_crash_between_the_renames(month_dir: Path,
                                                                   monkeypatch) -> None:
    inputs = month_dir.parent
    (month_dir / "keep.csv").write_text("x")
    monkeypatch.setattr(staging, "exchange_paths", lambda a, b: False)
    staging.commit(month_dir, _stage(inputs, "huntress-a.json", b"[]"), set(), _log([]), "s")
    assert (month_dir / "huntress-a.json").exists() and (month_dir / "keep.csv").exists()
    # a kill between "month -> previous" and "tree -> month": the next pull puts it back
    crashed = inputs / ".2026-10.pull-1-1"
    crashed.mkdir()
    month_dir.rename(crashed / "previous")
    staging.new_staging(inputs, "2026-10")
    assert (month_dir / "keep.csv").read_text() == "x"
    assert not crashed.exists()


def test_a_new_file_never_overwrites_one_that_stays(month_dir: Path) -> None:
    (month_dir / "pax8-companies-p1.json").write_text("by hand")
    folder = _stage(month_dir.parent, "pax8-companies-p1.json", b"{}")
    with pytest.raises(Exception, match="exists and is not from the pulled source"):
        staging.commit(month_dir, folder, set(), _log([]), "s")
    assert (month_dir / "pax8-companies-p1.json").read_text() == "by hand"


def test_the_loader_passes_over_exactly_pull_log_json(month_dir: Path) -> None:
    shutil.copy(FORMATS / "huntress_organizations.json", month_dir / "h.json")
    (month_dir / PULL_LOG).write_text(_log([{"file": "h.json", "source": "huntress",
                                             "sha256": "0" * 64, "pulled_at": "T"}]))
    ws = Workspace.open(month_dir.parents[1])
    loaded = load_period(ws, Period.parse("2026-10"))
    assert loaded.ignored == [PULL_LOG]
    assert loaded.inventory.origin.tolist() == ["by hand"]  # its sha256 does not match
    (month_dir / "pull-log.json.bak").write_text((month_dir / PULL_LOG).read_text())
    with pytest.raises(UnknownFormatError, match=r"pull-log\.json\.bak"):
        load_period(ws, Period.parse("2026-10"))


def test_a_malformed_pull_log_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / PULL_LOG).write_text('{"pulls": [')
    with pytest.raises(InputFileError, match=r"pull-log\.json: is not a readable pull log"):
        origins(tmp_path, {"a.json": "x"})
    (tmp_path / PULL_LOG).write_text('{"pulls": []}')
    with pytest.raises(InputFileError, match="not a recon pull log"):
        origins(tmp_path, {"a.json": "x"})


def test_gzip_json_lines_read_like_the_csv(tmp_path: Path) -> None:
    lines = (FORMATS / "microsoft_nce_invoice_recon.json").read_bytes()
    blob = tmp_path / "microsoft-billed-recon-G1-part-0.json.gz"
    blob.write_bytes(gzip.compress(lines))
    from_api = load_file(blob)
    from_csv = load_file(FORMATS / "microsoft_nce_invoice_recon.csv")
    assert from_api.format.name == "microsoft_nce_invoice_recon"
    assert from_api.raw.rows_read == from_csv.raw.rows_read == 13
    assert from_api.frame.drop(columns="source").equals(from_csv.frame.drop(columns="source"))


def test_truncated_or_bomb_gzip_is_refused(tmp_path: Path) -> None:
    blob = tmp_path / "x.json.gz"
    blob.write_bytes(gzip.compress(b'{"a": 1}\n' * 1000)[:-12])
    with pytest.raises(InputFileError, match="truncated"):
        read_raw(blob)
    blob.write_bytes(gzip.compress(b" " * (80 << 20)))  # 80 MB of nothing in ~80 kB
    with pytest.raises(InputFileError, match="decompression bomb"):
        read_raw(blob)
    bad = tmp_path / "y.json.gz"
    bad.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2, \n'))
    with pytest.raises(InputFileError, match=r"y.json.gz:2: line is not valid JSON"):
        read_raw(bad)
    other = tmp_path / "z.csv.gz"
    other.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with pytest.raises(InputFileError, match="only compressed JSON"):
        read_raw(other)


def test_which_source_a_hand_dropped_file_belongs_to(tmp_path: Path) -> None:
    assert sources_of_file(FORMATS / "connectwise_agreements.json") == {"connectwise"}
    assert sources_of_file(FORMATS / "pax8_invoice_items.csv") == {"pax8"}
    assert sources_of_file(FORMATS / "acronis_usages.json") == set()
    assert sources_of_file(FORMATS / "canonical_promised.csv") == {"connectwise", "autotask"}
    delivered = tmp_path / "usage.csv"
    delivered.write_text("vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,"
                         "quantity,unit_cost,currency,charge_start,charge_end\n"
                         "pax8,c1,C,s,S,1,1,USD,2026-10-01,\nacme,c2,C,s,S,1,1,USD,,\n")
    assert sources_of_file(delivered) == {"pax8"}
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    assert sources_of_file(junk) == set()
