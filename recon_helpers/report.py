"""The monthly report: notebook parameters, headline figures and ``render_period``.

``render_period`` executes the numbered notebooks with papermill into a temporary folder next
to ``reports/<YYYY-MM>/``, exports each to HTML with the code hidden (the ``.ipynb`` keeps it),
writes ``manifest.json`` and then swaps the folder in, so a failed render never leaves a
half-written report and the previous one stays intact.

Cost per notebook (2 cores): kernel start and papermill ~1.2 s, imports ~0.7 s, reconciling
the month ~1 s (demo, 28 clients) to ~2 s (500 clients), HTML export 0.2-1 s. That fixed
~2 s per notebook is why the report is one notebook per step with per-client sections
inside it, never one notebook per client; manifest.json records the measured seconds.

Example:
    >>> ctx = open_period("../data", "", "2026-10", [])      # the notebooks' second cell
    >>> render_period(Workspace.open("data"), "2026-10")       # what `recon report` runs
    PosixPath('reports/2026-10')
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from recon_helpers.errors import RenderError, UsageError
from recon_helpers.exports import exchange_paths, fsync_tree
from recon_helpers.reconcile import Reconciliation, reconcile_period
from recon_helpers.summary import totals
from recon_helpers.workspace import PERIOD_RE, Workspace, check_period

# The one place the parameter names live: every notebook's `parameters` cell declares exactly
# these (tests/test_notebook_hygiene.py), and render_period passes exactly these.
NOTEBOOK_PARAMETERS: tuple[str, ...] = ("workspace", "reports", "period", "client_ids")
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "python3"
MANIFEST = "manifest.json"
PRESERVED = ("signoff.json", "signoff.html")  # written by the sign-off step; survive a re-render
VERSIONED = ("recon-helpers", "pandas", "numpy", "rapidfuzz", "openpyxl", "papermill",
             "nbclient", "nbconvert", "nbformat", "ipykernel", "jupyter_client", "plotly")


@dataclass(frozen=True)
class ReportContext:
    """Validated notebook parameters: the workspace, the month and the clients in scope."""

    workspace: Workspace
    period: str
    client_ids: tuple[str, ...] = field(default_factory=tuple)

    def reconcile(self) -> Reconciliation:
        """Reconcile the month; check that every client in scope exists in it.

        Raises:
            UsageError: a client id that the month does not know (parameter client_ids).
        """
        rec = reconcile_period(self.workspace, self.period)
        unknown = sorted(set(self.client_ids) - set(rec.clients["client_id"]))
        if unknown:
            known = ", ".join(rec.clients["client_id"].head(8))
            raise UsageError(f"parameter client_ids: no client {unknown} in {self.period} "
                             f"(known ids include {known})")
        return rec

    def _repr_html_(self) -> str:
        scope = ", ".join(self.client_ids) if self.client_ids else "all clients"
        rows = (("workspace", str(self.workspace.root)),
                ("reports", str(self.workspace.reports_root)),
                ("period", self.period), ("clients", scope))
        cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in rows)
        from recon_helpers.views import CSS  # views imports this module

        return f'{CSS}<table class="recon-table recon-params">{cells}</table>'

    def scope(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of a table with a client_id column that belong to the clients in scope."""
        if not self.client_ids:
            return frame
        return frame[frame["client_id"].isin(self.client_ids)].reset_index(drop=True)


def open_period(workspace: str, reports: str, period: str, client_ids: list[str]) -> ReportContext:
    """Validate the notebook parameters (the cell after the `parameters` cell).

    Raises:
        UsageError: names the bad parameter (wrong type, missing workspace, bad month, month
            without inputs, client ids that are not a list of strings).
    """
    for name, value in (("workspace", workspace), ("reports", reports), ("period", period)):
        if not isinstance(value, str):
            raise UsageError(f"parameter {name} must be a string, not {value!r}")
    if not isinstance(client_ids, list | tuple) or not all(
        isinstance(c, str) and c.strip() for c in client_ids
    ):
        raise UsageError(f"parameter client_ids must be a list of client id strings, not "
                         f"{client_ids!r}")
    if not workspace.strip():
        raise UsageError("parameter workspace is empty: give the workspace folder (e.g. ../data)")
    if not PERIOD_RE.match(period):
        raise UsageError(f"parameter period: {period!r} is not a month in the form YYYY-MM")
    try:
        ws = Workspace.open(workspace, reports or None)
    except UsageError as exc:
        raise UsageError(f"parameter workspace: {exc}") from exc
    if not ws.inputs(period).is_dir():
        have = ", ".join(ws.periods()) or "none"
        raise UsageError(f"parameter period: no inputs for {period} in {ws.root} "
                         f"(months with inputs: {have})")
    return ReportContext(ws, period, tuple(dict.fromkeys(c.strip() for c in client_ids)))


def summary_figures(rec: Reconciliation, client_ids: Sequence[str] = ()) -> dict[str, Any]:
    """Headline figures of the month: summary.totals() of the findings in scope plus row counts.

    The same dict goes into manifest.json and onto the report's first section.
    """
    findings = rec.findings
    if client_ids:
        findings = findings[findings["client_id"].isin(list(client_ids))]
    inv = rec.loaded.inventory
    return {
        **totals(findings.reset_index(drop=True)),
        "files": len(inv),
        "rows_read": int(inv["rows_read"].sum()),
        "rows_used": int(inv["rows_used"].sum()),
        "rows_quarantined": int(inv["rows_quarantined"].sum()),
        "clients": len(client_ids) if client_ids else len(rec.clients),
    }


def parameters_for(ws: Workspace, period: str, client_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The NOTEBOOK_PARAMETERS values for a month (absolute paths, so any cwd works)."""
    values = (str(ws.root.resolve()), str(ws.reports_root.resolve()), check_period(period),
              [str(c) for c in client_ids])
    return dict(zip(NOTEBOOK_PARAMETERS, values, strict=True))


def notebook_paths(folder: Path | None = None) -> list[Path]:
    """The numbered report notebooks in workbook order."""
    folder = folder or NOTEBOOKS_DIR
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.stem != "06_client_statement")
    if not found:
        raise UsageError(f"no notebooks found in {folder}")
    return found


def check_parameters(notebook: Path, parameters: Mapping[str, Any]) -> None:
    """Refuse parameters the notebook's `parameters` cell does not declare.

    Papermill only warns about unknown parameters; a typo must fail loudly instead.

    Raises:
        UsageError: names the notebook and the undeclared parameters.
    """
    import papermill as pm

    declared = set(pm.inspect_notebook(str(notebook)))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise UsageError(f"{notebook.name} does not declare parameter(s) {unknown}; "
                         f"it declares {sorted(declared)}")


def _failed_cell(notebook: Path, source: str) -> str:
    """Where a failed cell sits in the source notebook: its index and the step heading above.

    Papermill's output has extra cells (injected parameters, error banners), so the failing
    cell is found in the source notebook by its code.
    """
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    index = next((i for i, c in enumerate(cells) if c.cell_type == "code" and c.source == source),
                 None)
    if index is None:
        return "the injected parameters cell"
    step = next((c.source.lstrip("# ").splitlines()[0] for c in reversed(cells[:index])
                 if c.cell_type == "markdown" and c.source.startswith("#")), "")
    return f"cell {index}" + (f", step {step!r}" if step else "")


def execute(notebook: Path, output: Path, parameters: Mapping[str, Any], timeout: int) -> dict:
    """Run one notebook with papermill; return its timings in seconds.

    Raises:
        RenderError: a cell failed or timed out (names the notebook, the cell and its step).
    """
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    try:
        nb = pm.execute_notebook(
            str(notebook), str(output), parameters=dict(parameters), kernel_name=KERNEL,
            cwd=str(notebook.parent), progress_bar=False, execution_timeout=timeout,
            request_save_on_cell_execute=False,
        )
    except PapermillExecutionError as exc:
        where = _failed_cell(notebook, exc.source)
        raise RenderError(f"{notebook.name}: {where} (In [{exc.exec_count}]) failed: "
                          f"{exc.ename}: {exc.evalue}") from exc
    except CellTimeoutError as exc:
        raise RenderError(f"{notebook.name}: a cell ran longer than the {timeout} s timeout: "
                          f"{str(exc).splitlines()[0]}") from exc
    except DeadKernelError as exc:
        raise RenderError(f"{notebook.name}: the kernel died: {exc}") from exc
    wall = time.perf_counter() - start
    cells = sum(float(c.metadata.get("papermill", {}).get("duration") or 0) for c in nb.cells)
    return {"total": round(wall, 3), "cells": round(cells, 3),
            "kernel_and_overhead": round(wall - cells, 3)}


def _title(nb: Any, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return fallback


def export_html(ipynb: Path, html_path: Path, period: str) -> None:
    """Export a rendered notebook to self-contained HTML with the code hidden.

    The page inlines plotly.js from the installed package and drops nbconvert's CDN scripts
    (require.js, MathJax, mermaid), so it opens offline and plotly registers ``window.Plotly``.
    """
    import nbformat
    from jinja2 import DictLoader
    from plotly.offline import get_plotlyjs

    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["title"] = f"{_title(nb, ipynb.stem)}: {period}"
    # saved widget state makes nbconvert load the widget manager from unpkg; without it every
    # widget output falls back to its text/html (the resolution UI's static decision panel)
    nb.metadata.pop("widgets", None)
    has_plotly = any(
        "application/vnd.plotly.v1+json" in out.get("data", {})
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    exporter = _report_exporter_class()(
        template_name="lab", template_file="recon_report.html.j2",
        extra_loaders=[DictLoader({"recon_report.html.j2": _TEMPLATE})],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(
        nb, resources={"plotly_js": get_plotlyjs() if has_plotly else ""}
    )
    html_path.write_text(body, encoding="utf-8")


@functools.cache
def _report_exporter_class() -> type:
    """nbconvert's HTMLExporter without its final BeautifulSoup pass over the page.

    That pass only adds alt text to ``<img>`` tags (the report has none: charts are plotly
    divs) and ``tabindex`` to cells, yet it re-parses and re-serialises the whole page: 80 % of
    the export time of a 9 MB report page (500 clients). The rest is the parent's own code.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):  # type: ignore[misc]
        def from_notebook_node(self, nb: Any, resources: Any = None,
                               **kw: Any) -> tuple[str, dict[str, Any]]:
            info = nb.metadata.get("language_info", {})
            lexer = info.get("pygments_lexer", info.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return ReportExporter


_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}{%- if resources.plotly_js -%}
<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>
<script type="text/javascript">{{ resources.plotly_js }}</script>
{%- endif -%}{%- endblock html_head_css -%}
"""


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
    files = {p.name: _sha256(p) for p in (ws.clients_map, ws.products_map, ws.config_path)
             if p.is_file()}
    return {
        "period": rec.period,
        "rendered_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": dict(parameters),
        "notebooks": rendered,
        "inputs": inputs,
        "ignored_files": list(rec.loaded.ignored),
        "mappings": {k: v for k, v in files.items() if k != ws.config_path.name},
        "config": {k: v for k, v in files.items() if k == ws.config_path.name},
        "versions": versions(),
        "summary": summary_figures(rec, parameters.get("client_ids") or ()),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()  # mapping files and settings are small


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` so that a crash at any moment leaves one of them whole.

    Where the platform can, the two folders are exchanged in one atomic step and the old
    report (now at ``new``) is deleted. Elsewhere the old report is renamed aside, the new
    one moved in, and the old one deleted: a crash between the two renames leaves the old
    report in the dot-folder ``.<period>.old-*`` beside it.
    """
    if target.exists() and exchange_paths(new, target):
        shutil.rmtree(new, ignore_errors=True)
        return
    aside = None
    if target.exists():
        aside = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
        target.rename(aside)
    try:
        new.rename(target)
    except BaseException:
        if aside is not None:
            aside.rename(target)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def render_period(
    workspace: Workspace | str | Path,
    period: str,
    client_ids: Sequence[str] = (),
    notebooks: Sequence[Path] | None = None,
    timeout: int = 600,
    progress: bool = True,
) -> Path:
    """Render the month's notebooks into ``reports/<period>/`` (.ipynb, .html, manifest.json).

    Args:
        workspace: the workspace (or its folder; reports then go beside it).
        period: the ``YYYY-MM`` month.
        client_ids: clients in scope; empty = all.
        notebooks: notebooks to run (default: the numbered notebooks in ``notebooks/``).
        timeout: seconds one cell may run.
        progress: show a progress bar over the notebooks (stderr).

    Returns:
        The report folder.

    Raises:
        UsageError: a bad period or client, or a parameter a notebook does not declare.
        RenderError: a notebook cell failed, timed out or its kernel died (names notebook
            and cell), or the report could not be written (e.g. a full disk); the previous
            report, if any, is left as it was.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
    period = check_period(period)
    paths = [Path(p) for p in notebooks] if notebooks is not None else notebook_paths()
    parameters = parameters_for(ws, period, client_ids)
    for nb in paths:
        check_parameters(nb, parameters)
    ctx = ReportContext(ws, period, tuple(parameters["client_ids"]))
    rec = ctx.reconcile()  # fails fast on bad inputs or clients, and feeds the manifest
    target = ws.report_dir(period)
    try:
        _render_into(target, paths, ws, rec, parameters, timeout, progress)
    except OSError as exc:  # a full disk, a file size limit, no permission
        raise RenderError(f"cannot write the report {target}: {exc}; the previous report, "
                          "if any, was left as it was") from exc
    return target


def _render_into(target: Path, paths: list[Path], ws: Workspace, rec: Reconciliation,
                 parameters: dict[str, Any], timeout: int, progress: bool) -> None:
    from tqdm import tqdm

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
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
        for name in PRESERVED:
            if (target / name).is_file():
                shutil.copy2(target / name, tmp / name)
        fsync_tree(tmp)
        _swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
