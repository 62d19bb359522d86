"""The monthly report: ``render_period`` and its manifest.

``render_period`` executes the numbered notebooks with papermill into a temporary folder next
to ``reports/<YYYY-MM>/``, exports each to HTML with the code hidden (the ``.ipynb`` keeps it),
writes ``manifest.json`` and then swaps the folder in, so a failed render never leaves a
half-written report and the previous one stays intact.

The fixed ~2 s per notebook (kernel start, imports; :mod:`recon_helpers.render.notebook`) is
why the report is one notebook per step with per-client sections inside it, never one notebook
per client; manifest.json records the measured seconds.

Example:
    >>> render_period(Workspace.open("data"), Period.parse("2026-10"))   # `recon report`
    PosixPath('reports/2026-10')
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from recon_helpers.analysis.totals import month_totals
from recon_helpers.audit.cache import cached_reconcile
from recon_helpers.audit.signoff import guard_sealed
from recon_helpers.audit.signoff import status as signoff_status
from recon_helpers.audit.status import status_table
from recon_helpers.core.errors import RenderError
from recon_helpers.core.files import fsync_tree, sha256_file
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.context import ReportContext
from recon_helpers.present.index import index_page
from recon_helpers.present.views import status_counts
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.render.notebook import (
    check_parameters,
    execute,
    export_html,
    notebook_paths,
    parameters_for,
    swap_in,
)

MANIFEST = "manifest.json"
INDEX = "index.html"
PRESERVED = ("signoff.json", "signoff.html")  # written by the sign-off step; survive a re-render
VERSIONED = ("recon-helpers", "pandas", "numpy", "rapidfuzz", "openpyxl", "papermill",
             "nbclient", "nbconvert", "nbformat", "ipykernel", "jupyter_client", "plotly")


def versions() -> dict[str, str]:
    """Python and library versions for the manifest."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_manifest(ws: Workspace, rec: Reconciliation, parameters: Mapping[str, Any],
                   rendered: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest.json document: parameters, inputs, mappings, versions, summary figures."""
    inv = rec.loaded.inventory
    inputs = [
        {"file": r.file, "format": r.format, "entity": r.entity, "bytes": int(r.bytes),
         "sha256": r.sha256, "rows_read": int(r.rows_read), "rows_used": int(r.rows_used),
         "rows_quarantined": int(r.rows_quarantined), "origin": r.origin}
        for r in inv.itertuples(index=False)
    ]
    paths = (ws.clients_map, ws.products_map, ws.ignore_map, ws.config_path)
    files = {p.name: sha256_file(p) for p in paths
             if p.is_file()}
    return {
        "period": str(rec.period),
        "rendered_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": dict(parameters),
        "notebooks": rendered,
        "inputs": inputs,
        "ignored_files": list(rec.loaded.ignored),
        "mappings": {k: v for k, v in files.items() if k != ws.config_path.name},
        "config": {k: v for k, v in files.items() if k == ws.config_path.name},
        "versions": versions(),
        "summary": rec.headline(parameters.get("client_ids") or ()).as_dict(),
        # the money cards of the report and the index (cost at risk apart from money to bill)
        "totals": {cur: {k: str(v) for k, v in vars(t).items()}
                   for cur, t in month_totals(rec, parameters.get("client_ids") or ())},
    }


def write_index(folder: Path, target: Path, ws: Workspace, rec: Reconciliation,
                client_ids: Sequence[str], rendered: list[dict[str, Any]]) -> dict[str, int]:
    """Write ``index.html`` into ``folder`` (the report being built for ``target``); return
    the status counts it shows (for the manifest)."""
    ctx = ReportContext(ws, rec.period, tuple(client_ids))
    status = status_table(ctx.scope(rec.findings), ws, rec.period)
    pages = [(r["html"], _page_title(folder / r["notebook"])) for r in rendered]
    page = index_page(ctx, rec, status, pages, signoff_status(ws, rec.period),
                      signoff_page=(target / "signoff.html").is_file())
    (folder / INDEX).write_text(page, encoding="utf-8")
    return status_counts(status)


def _page_title(ipynb: Path) -> str:
    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return ipynb.stem


def render_period(
    workspace: Workspace,
    period: Period,
    client_ids: Sequence[str] = (),
    notebooks: Sequence[Path] | None = None,
    timeout: int = 600,
    progress: bool = True,
) -> Path:
    """Render the month's notebooks into ``reports/<period>/`` (.ipynb, .html, manifest.json).

    Args:
        workspace: the workspace.
        period: the month.
        client_ids: clients in scope; empty = all.
        notebooks: notebooks to run (default: the numbered notebooks in ``notebooks/``).
        timeout: seconds one cell may run.
        progress: show a progress bar over the notebooks (stderr).

    Returns:
        The report folder.

    Raises:
        UsageError: an unknown client, or a parameter a notebook does not declare.
        SealedError: the month is prepared or signed (reopen it first).
        RenderError: a notebook cell failed, timed out or its kernel died (names notebook
            and cell), or the report could not be written (e.g. a full disk); the previous
            report, if any, is left as it was.
    """
    ws = workspace
    guard_sealed(ws, period, "re-rendering the report")
    paths = [Path(p) for p in notebooks] if notebooks is not None else notebook_paths()
    parameters = parameters_for(ws, period, client_ids)
    for nb in paths:
        check_parameters(nb, parameters)
    # fails fast on bad inputs or clients, and feeds the manifest; stored (audit/cache.py) so
    # that each notebook kernel loads it instead of reconciling the month again
    rec = cached_reconcile(ws, period)
    rec.check_clients(parameters["client_ids"], "parameter client_ids")
    target = ws.report_dir(period)
    try:
        _render_into(target, paths, ws, rec, parameters, timeout, progress)
    except OSError as exc:  # a full disk, a file size limit, no permission
        raise RenderError(f"cannot write the report {target}: {exc}; the previous report, "
                          "if any, was left as it was") from exc
    return target


def _render_into(target: Path, paths: list[Path], ws: Workspace, rec: Reconciliation,
                 parameters: dict[str, Any], timeout: int, progress: bool) -> None:
    period = rec.period
    target.parent.mkdir(parents=True, exist_ok=True)
    # a dot-folder beside the target, so the final move is a rename on the same file system
    tmp = target.parent / f".{period}.render-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        rendered = []
        bar = tqdm(paths, desc=f"report {period}", unit="notebook", disable=not progress,
                   file=sys.stderr)
        for nb in bar:
            bar.set_postfix_str(nb.stem)
            out = tmp / nb.name
            seconds = execute(nb, out, parameters, timeout)
            start = time.perf_counter()
            export_html(out, out.with_suffix(".html"), period)
            seconds["html_export"] = round(time.perf_counter() - start, 3)
            rendered.append({"notebook": nb.name, "html": out.with_suffix(".html").name,
                             "seconds": seconds})
        manifest = build_manifest(ws, rec, parameters, rendered)
        manifest["status"] = write_index(tmp, target, ws, rec, parameters["client_ids"],
                                         rendered)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
        for name in PRESERVED:
            if (target / name).is_file():
                shutil.copy2(target / name, tmp / name)
        fsync_tree(tmp)
        swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
