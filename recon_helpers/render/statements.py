"""Client statements rendered with papermill into ``reports/<YYYY-MM>/clients/``.

``recon statement`` renders notebooks/06_client_statement.ipynb (one client per run) into
``reports/<YYYY-MM>/clients/<client_id>.html`` (+ .ipynb), with the same execution and HTML
export as the monthly report. Re-rendering the monthly report replaces ``reports/<YYYY-MM>/``
and with it the statements: render statements after the report (and before the sign-off, so
the seal covers them).

Example:
    >>> render_statement(ws, october, "ACMEMANU00")
    PosixPath('reports/2026-10/clients/ACMEMANU00.html')
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from recon_helpers.core.errors import RenderError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.render.notebook import (
    KERNEL_LOG,
    NOTEBOOKS_DIR,
    check_parameters,
    execute,
    export_html,
    parameters_for,
)

STATEMENT_NOTEBOOK = NOTEBOOKS_DIR / "06_client_statement.ipynb"


def statement_name(client_id: str) -> str:
    """File stem of a client's statement: the id, percent-encoded where a path needs it."""
    name = quote(client_id, safe="-_.@+ ")
    return "%2E" + name[1:] if name.startswith(".") else name


def statement_path(workspace: Workspace, period: Period, client_id: str) -> Path:
    """``reports/<period>/clients/<client_id>.html``."""
    return workspace.report_dir(period) / "clients" / f"{statement_name(client_id)}.html"


def render_statement(workspace: Workspace, period: Period, client_id: str,
                     timeout: int = 600) -> Path:
    """Render one client's statement with papermill; write .ipynb and .html; return the .html.

    A failed render leaves an earlier statement of that client as it was.

    Raises:
        UsageError: the notebook does not declare the parameters.
        RenderError: a notebook cell failed (e.g. an unknown client), naming the cell, or the
            statement could not be written (e.g. a full disk).
    """
    parameters = parameters_for(workspace, period, [client_id])
    check_parameters(STATEMENT_NOTEBOOK, parameters)
    target = statement_path(workspace, period, client_id)
    try:
        _render_statement_into(target, parameters, period, timeout)
    except OSError as exc:  # a full disk, a file size limit, no permission
        raise RenderError(f"cannot write the statement {target}: {exc}; an earlier statement, "
                          "if any, was left as it was") from exc
    return target


def _render_statement_into(target: Path, parameters: dict[str, object], period: Period,
                           timeout: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".render-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        ipynb = tmp / f"{target.stem}.ipynb"
        execute(STATEMENT_NOTEBOOK, ipynb, parameters, timeout)
        if (tmp / KERNEL_LOG).is_file():  # keep the kernel's warnings beside the statements
            with (target.parent / KERNEL_LOG).open("ab") as log:
                log.write((tmp / KERNEL_LOG).read_bytes())
        export_html(ipynb, ipynb.with_suffix(".html"), period)
        os.replace(ipynb, target.with_suffix(".ipynb"))
        os.replace(ipynb.with_suffix(".html"), target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render_statements(workspace: Workspace, period: Period, client_ids: Sequence[str],
                      timeout: int = 600) -> list[Path]:
    """Render the statements of several clients, one papermill run each."""
    return [render_statement(workspace, period, c, timeout) for c in client_ids]
