"""Running one notebook with papermill and exporting it to a self-contained HTML page.

Shared by the monthly report (:mod:`recon_helpers.render.report`) and the client statements
(:mod:`recon_helpers.render.statements`): the parameters every notebook declares, the check
that a notebook declares what it is given, execution with a named failure, the code-hidden HTML
export, and the atomic swap of a rendered folder.

Cost per notebook (2 cores): kernel start and papermill ~1.2 s, imports ~0.7 s, reconciling the
month ~1 s (demo, 28 clients) to ~2 s (500 clients), HTML export 0.2-1 s.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recon_helpers.core.errors import RenderError, UsageError
from recon_helpers.core.files import exchange_paths
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace

# The one place the parameter names live: every notebook's `parameters` cell declares exactly
# these (tests/test_notebook_hygiene.py), and render_period passes exactly these.
NOTEBOOK_PARAMETERS: tuple[str, ...] = ("workspace", "reports", "period", "client_ids")
# parameters a notebook may declare besides those, with their declared type and default;
# ``recon report`` leaves them at the default (as_of: "" = the period's last day, see
# reconcile/licences.py)
OPTIONAL_PARAMETERS: dict[str, tuple[str, str]] = {"as_of": ("str", '""')}
NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
KERNEL = "python3"


def parameters_for(ws: Workspace, period: Period, client_ids: Sequence[str] = ()
                   ) -> dict[str, Any]:
    """The NOTEBOOK_PARAMETERS values for a month (absolute paths, so any cwd works)."""
    values = (str(ws.root.resolve()), str(ws.reports_root.resolve()), str(period),
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


def export_html(ipynb: Path, html_path: Path, period: Period) -> None:
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


def swap_in(new: Path, target: Path) -> None:
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
