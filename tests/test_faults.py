"""Faults: a killed kernel, a hanging cell, a crash while writing, a full disk, a locked ledger.

Each must end in a clear error (a ReconError naming the notebook, file or ledger) and leave
what was on disk before either untouched or completely replaced: the previous report, the
mapping file and the findings export are never half-written.

Crashes are real: ``kill -9`` of a process appending to a mapping file, and a forked render
that ``os._exit``s at each file-system step of the report swap in turn (no ``finally`` runs).
The full disk is a file-size limit (``RLIMIT_FSIZE``) in a subprocess, where writes past the
limit fail with EFBIG as they would with ENOSPC on a full disk.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from recon_helpers.audit.ledger import Ledger
from recon_helpers.core.errors import LedgerError, RenderError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.mapping import CLIENT_MAP_COLUMNS, read_client_map
from recon_helpers.render import notebook, report
from recon_helpers.render.report import render_period
from tests.test_report import small_notebook
from tests.workspace_builder import one_client_workspace

PERIOD = Period.parse("2026-10")
ROOT = Path(__file__).resolve().parents[1]
NEW_HTML = b"<html><body>the new report</body></html>"
CRASHED = 137  # exit status of a child that "crashed" at a file-system step


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return one_client_workspace(tmp_path)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(f.relative_to(folder)): f.read_bytes()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def previous_report(ws: Workspace) -> dict[str, bytes]:
    """A report already in reports/<P>/ (nested, signed); returns its snapshot."""
    folder = ws.report_dir(PERIOD)
    (folder / "clients").mkdir(parents=True)
    (folder / "01_fault.html").write_bytes(b"<html>the previous report \xe2\x9c\x93</html>")
    (folder / "01_fault.ipynb").write_text('{"cells": []}', encoding="utf-8")
    (folder / "manifest.json").write_text('{"period": "2026-10"}\n', encoding="utf-8")
    (folder / "signoff.json").write_text('{"seal": "previous"}\n', encoding="utf-8")
    (folder / "clients" / "ACME.html").write_text("statement", encoding="utf-8")
    return snapshot(folder)


def leftovers(ws: Workspace) -> list[str]:
    """Anything in the reports folder besides the month folders (temporary folders)."""
    return sorted(f.name for f in ws.reports_root.iterdir() if f.name != str(PERIOD))


def kernels() -> list[Any]:
    """Kernel processes this test process started and left running (psutil comes with IPython)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return []
    return [c for c in psutil.Process().children(recursive=True)
            if "ipykernel" in " ".join(c.cmdline())]


def fake_execute(notebook: Path, output: Path, parameters: Any, timeout: int) -> dict:
    """report.execute without a kernel: the notebook copied as its own output."""
    nbformat.write(nbformat.read(notebook, as_version=4), output)
    return {"total": 0.0, "cells": 0.0, "kernel_and_overhead": 0.0}


def fake_export(ipynb: Path, html_path: Path, period: str) -> None:
    html_path.write_bytes(NEW_HTML)


# --- the kernel dies or hangs ------------------------------------------------------------------


@pytest.mark.notebooks
@pytest.mark.parametrize(("cell", "timeout", "message"), [
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", 60,
     r"01_fault\.ipynb: the kernel died"),
    ("import time\ntime.sleep(60)", 2, r"01_fault\.ipynb: a cell ran longer than the 2 s timeout"),
], ids=["kernel-killed", "cell-hangs"])
def test_a_dead_or_hanging_kernel_is_a_render_error_and_the_old_report_stays(
    workspace: Workspace, tmp_path: Path, cell: str, timeout: int, message: str
) -> None:
    before = previous_report(workspace)
    nb = small_notebook(tmp_path, "01_fault.ipynb", "rec = ctx.reconcile()", cell)
    start = time.monotonic()
    with pytest.raises(RenderError, match=message):
        render_period(workspace, PERIOD, notebooks=[nb], timeout=timeout, progress=False)
    assert time.monotonic() - start < 45  # not the 60 s the cell asked for
    assert snapshot(workspace.report_dir(PERIOD)) == before  # byte-identical
    assert leftovers(workspace) == []
    assert kernels() == [], "the kernel was left running"


# --- a crash or a failure while the report is swapped in -------------------------------------


def _crash_at(step: int, ws: Workspace, nb: Path, rec: Any) -> int:
    """Render in a forked child that dies (os._exit) before its ``step``-th file operation."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            calls = [0]

            def crashing(fn: Any) -> Any:
                def step_in(*args: Any, **kwargs: Any) -> Any:
                    calls[0] += 1
                    if calls[0] == step:
                        os._exit(CRASHED)  # like kill -9: no except or finally runs
                    return fn(*args, **kwargs)
                return step_in

            for owner, name in ((os, "rename"), (os, "replace"), (Path, "rename"),
                                (shutil, "rmtree"), (shutil, "copy2"),
                                (notebook, "exchange_paths"), (report, "fsync_tree")):
                setattr(owner, name, crashing(getattr(owner, name)))
            report.execute, report.export_html = fake_execute, fake_export
            report.cached_reconcile = lambda ws, period: rec
            render_period(ws, PERIOD, notebooks=[nb], progress=False)
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _is_new(files: dict[str, bytes], old: dict[str, bytes]) -> bool:
    return (set(files) == {"01_fault.html", "01_fault.ipynb", "index.html", "manifest.json",
                           "signoff.json"}
            and files["01_fault.html"] == NEW_HTML
            and files["signoff.json"] == old["signoff.json"]  # kept across the re-render
            and json.loads(files["manifest.json"])["period"] == str(PERIOD))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_crash_at_any_step_of_the_swap_leaves_the_old_or_the_new_report(
    workspace: Workspace, tmp_path: Path
) -> None:
    from recon_helpers.reconcile.run import reconcile_period

    old = previous_report(workspace)
    nb = small_notebook(tmp_path, "01_fault.ipynb", "1")
    rec = reconcile_period(workspace, PERIOD)
    report.check_parameters(nb, report.parameters_for(workspace, PERIOD))  # imports papermill
    target = workspace.report_dir(PERIOD)
    outcomes = []
    for step in range(1, 40):
        status = _crash_at(step, workspace, nb, rec)
        files = snapshot(target) if target.is_dir() else {}
        assert status in (0, CRASHED), f"the child failed at step {step} (status {status})"
        if status == 0:
            assert _is_new(files, old)
            break
        state = "old" if files == old else "new" if _is_new(files, old) else None
        assert state, f"crash before file operation {step}: neither report is whole: {files}"
        outcomes.append(state)
        if state == "new":  # later runs replace the new report: start from the old one again
            shutil.rmtree(target)
            for name, data in old.items():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_bytes(data)
    else:
        pytest.fail("the render never completed")
    assert "old" in outcomes and "new" in outcomes, outcomes


@pytest.mark.parametrize("how", ["exchange fails", "rename fails"])
def test_a_failed_final_move_is_a_render_error_and_the_old_report_stays(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    before = previous_report(workspace)
    nb = small_notebook(tmp_path, "01_fault.ipynb", "1")
    monkeypatch.setattr(report, "execute", fake_execute)
    monkeypatch.setattr(report, "export_html", fake_export)
    if how == "exchange fails":
        def exchange(a: Path, b: Path) -> bool:
            raise OSError(5, "Input/output error", str(b))
        monkeypatch.setattr(notebook, "exchange_paths", exchange)
    else:  # the portable path: old aside, new in; the second rename fails
        monkeypatch.setattr(notebook, "exchange_paths", lambda a, b: False)
        rename = Path.rename

        def failing(self: Path, target: Any) -> Any:
            if self.name.startswith(f".{PERIOD}.render-"):
                raise OSError(28, "No space left on device", str(target))
            return rename(self, target)
        monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(RenderError, match=r"cannot write the report .*2026-10: .*the previous "
                       r"report, if any, was left as it was"):
        render_period(workspace, PERIOD, notebooks=[nb], progress=False)
    assert snapshot(workspace.report_dir(PERIOD)) == before
    assert leftovers(workspace) == []


# --- a crash while a mapping file is written -----------------------------------------------------

APPENDER = """
import sys
from pathlib import Path
from recon_helpers.audit.mapping_changes import write_client_mapping
path, i = Path(sys.argv[1]), int(sys.argv[2])
while True:
    write_client_mapping(path, "Microsoft", f"guid-{i:05d}", f'Name, "quoted" {i}\\nline two',
                   f"C{i:05d}")
    print(i, flush=True)
    i += 1
"""


def _expected_row(i: int) -> list[str]:
    return ["microsoft", f"guid-{i:05d}", f'Name, "quoted" {i}\nline two', f"C{i:05d}"]


def test_kill_9_while_confirming_mappings_leaves_a_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "mappings" / "clients.csv"
    rng = random.Random(6)
    done = 0
    for _ in range(3):
        worker = subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(done)],
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        acked = [int(worker.stdout.readline()) for _ in range(5)]  # in its append loop
        time.sleep(rng.uniform(0, 0.05))
        worker.send_signal(signal.SIGKILL)
        rest, _ = worker.communicate(timeout=30)
        acked += [int(line) for line in rest.split()]
        data = path.read_bytes()
        assert data.endswith(b"\n"), "a partial last line"
        with io.StringIO(data.decode("utf-8"), newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == list(CLIENT_MAP_COLUMNS)
        assert rows[1:] == [_expected_row(i) for i in range(len(rows) - 1)]
        done = len(rows) - 1
        assert done >= max(acked) + 1, "an acknowledged append was lost"
    assert len(read_client_map(path)) == done


# --- a full disk (a file-size limit) ----------------------------------------------------------

FULL_DISK = """
import contextlib, io, json, resource, signal, sys
from pathlib import Path
import nbformat
from recon_helpers import cli
from recon_helpers.render import report
from recon_helpers.core.errors import ReconError
from recon_helpers.audit.mapping_changes import write_client_mapping
import recon_helpers.core.exports, recon_helpers.reconcile.run, recon_helpers.audit.status  # noqa
import recon_helpers.reconcile.summary, recon_helpers.present.signoff  # noqa: imported early
import recon_helpers.render.statements, nbconvert, openpyxl, plotly.offline, tqdm  # noqa

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
cfg = json.loads(sys.argv[1])
base = ["--workspace", cfg["workspace"], "--reports", cfg["reports"], "--period", "2026-10"]

def limit(size):
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(argv)
        except BaseException as exc:
            status = f"uncaught {type(exc).__name__}: {exc}"
    return [status, err.getvalue()]

def fake_execute(notebook, output, parameters, timeout):
    nbformat.write(nbformat.read(notebook, as_version=4), output)
    return {"total": 0.0, "cells": 0.0, "kernel_and_overhead": 0.0}

results = {}
limit(200)
for ext in ("csv", "xlsx"):
    results[ext] = run(["reconcile", *base, "--out", cfg[ext]])
limit(Path(cfg["mapping"]).stat().st_size + 8)
try:
    write_client_mapping(Path(cfg["mapping"]), "pax8", "c-9", "Contoso Pharmaceuticals", "CONTOSO")
    results["mapping"] = "written"
except Exception as exc:
    results["mapping"] = [type(exc).__name__, isinstance(exc, ReconError),
                          isinstance(exc, OSError), str(exc)]
report.notebook_paths = lambda folder=None: [Path(cfg["notebook"])]
report.execute = fake_execute  # the kernel is not the point; the HTML export writes ~300 KB
limit(64_000)
results["report"] = run(["report", *base, "--no-progress"])
from recon_helpers.render import statements
statements.execute = fake_execute
results["statement"] = run(["statement", *base, "--client", "ACME"])
print(json.dumps(results))
"""


def test_a_full_disk_fails_cleanly_and_leaves_no_partial_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for ext in ("csv", "xlsx"):
        (out / f"findings.{ext}").write_bytes(b"previous export")
    mapping = workspace.clients_map
    mapping_before = mapping.read_bytes()
    report_before = previous_report(workspace)
    nb = small_notebook(tmp_path, "01_fault.ipynb", "rec = ctx.reconcile()")
    cfg = {"workspace": str(workspace.root), "reports": str(workspace.reports_root),
           "csv": str(out / "findings.csv"), "xlsx": str(out / "findings.xlsx"),
           "mapping": str(mapping), "notebook": str(nb)}
    run = subprocess.run([sys.executable, "-c", FULL_DISK, json.dumps(cfg)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for ext in ("csv", "xlsx"):
        status, err = results[ext]
        assert status == 2, status
        assert err.splitlines()[-1] == (f"recon: error: cannot write {out / f'findings.{ext}'}: "
                                        "File too large; the file was left as it was"), err
        assert "Traceback" not in err
    assert sorted(f.name for f in out.iterdir()) == ["findings.csv", "findings.xlsx"]
    assert all((out / f"findings.{e}").read_bytes() == b"previous export" for e in ("csv", "xlsx"))

    name, recon_error, os_error, message = results["mapping"]
    assert (name, recon_error, os_error) == ("WriteFailed", True, True)
    assert message.startswith(f"cannot write {mapping}: File too large")
    assert mapping.read_bytes() == mapping_before
    assert sorted(f.name for f in mapping.parent.iterdir()) == ["clients.csv", "products.csv"]

    status, err = results["report"]
    assert status == 2, status
    assert err.splitlines()[-1].startswith(
        f"recon: error: cannot write the report {workspace.report_dir(PERIOD)}: "), err
    assert "File too large" in err and "Traceback" not in err
    status, err = results["statement"]
    assert status == 2, status
    assert err.splitlines()[-1].startswith("recon: error: cannot write the statement "
                                           f"{workspace.report_dir(PERIOD) / 'clients'}"), err
    assert "File too large" in err and "Traceback" not in err
    assert snapshot(workspace.report_dir(PERIOD)) == report_before  # ACME's statement too
    assert leftovers(workspace) == []


# --- a locked ledger -------------------------------------------------------------------------

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
for statement in sys.argv[2:]:
    conn.execute(statement)
print("holding", flush=True)
time.sleep(60)
"""
LOCKS = {
    "exclusive transaction": ["BEGIN EXCLUSIVE"],
    "exclusive locking mode": ["PRAGMA locking_mode=EXCLUSIVE", "BEGIN EXCLUSIVE",
                               "SELECT count(*) FROM entries"],
    "new ledger being created": ["BEGIN EXCLUSIVE", "CREATE TABLE other (a)"],
}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_a_locked_ledger_times_out_with_a_message(tmp_path: Path, lock: str) -> None:
    path = tmp_path / "ledger.sqlite"
    if lock != "new ledger being created":
        with Ledger(path) as ledger:
            ledger.append("decision", PERIOD, "k-0", {"action": "accept"}, "alice")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), *LOCKS[lock]],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        start = time.monotonic()
        with Ledger(path, timeout=0.5) as ledger, pytest.raises(
                LedgerError, match=r"ledger .*ledger\.sqlite is locked by another process; "
                                   r"try again"):
            ledger.append("decision", PERIOD, "k-1", {"action": "accept"}, "bob")
        assert 0.4 < time.monotonic() - start < 5  # waited the timeout, then gave up
    finally:
        holder.kill()
        holder.wait()
    with Ledger(path, timeout=2) as ledger:  # once released, the append goes through
        ledger.append("decision", PERIOD, "k-1", {"action": "accept"}, "bob")
        assert ledger.verify() == []
        assert [e.key for e in ledger.entries(PERIOD)][-1] == "k-1"
