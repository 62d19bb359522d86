"""The notebook context: the validated parameters of a notebook (workspace, month, clients).

Every report notebook's second cell is ``ctx = open_period(workspace, reports, period,
client_ids)``: it turns the literal parameters into a :class:`ReportContext` once, naming any
bad parameter, and the month as a :class:`~recon_helpers.core.period.Period`.

Example:
    >>> ctx = open_period("../data", "", "2026-10", [])
    >>> rec = ctx.reconcile()
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from IPython import get_ipython
from IPython.display import HTML, display

from recon_helpers.analysis.trends import Trends, collect
from recon_helpers.audit.cache import cached_reconcile
from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.html import CSS
from recon_helpers.reconcile.result import Reconciliation


@dataclass(frozen=True)
class ReportContext:
    """Validated notebook parameters: the workspace, the month and the clients in scope."""

    workspace: Workspace
    period: Period
    client_ids: tuple[str, ...] = field(default_factory=tuple)

    def reconcile(self) -> Reconciliation:
        """Reconcile the month (the stored result when nothing changed: audit/cache.py); check
        that every client in scope exists in it.

        Raises:
            UsageError: a client id that the month does not know (parameter client_ids).
        """
        rec = cached_reconcile(self.workspace, self.period)
        rec.check_clients(self.client_ids, "parameter client_ids")
        return rec

    def trends(self) -> Trends:
        """Every month up to this one reconciled, with progress shown as it goes."""
        return collect(self.workspace, self.period, self.client_ids, progress=notebook_progress())

    def _repr_html_(self) -> str:
        scope = ", ".join(self.client_ids) if self.client_ids else "all clients"
        # folder names only: a rendered page never shows the machine's absolute paths
        rows = (("workspace", self.workspace.root.resolve().name),
                ("reports", self.workspace.reports_root.resolve().name),
                ("period", str(self.period)), ("clients", scope))
        cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in rows)
        return f'{CSS}<table class="recon-table recon-params">{cells}</table>'

    def scope(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of a table with a client_id column that belong to the clients in scope."""
        if not self.client_ids:
            return frame
        return frame[frame["client_id"].isin(self.client_ids)].reset_index(drop=True)


def notebook_progress() -> Callable[[str], None]:
    """Progress lines: an updating display in a notebook, stderr elsewhere."""
    if get_ipython() is not None:
        handle = display(HTML("<p>Starting…</p>"), display_id=True)
        return lambda msg: handle.update(HTML(f"<p>{html.escape(msg)}</p>"))
    return lambda msg: print(msg, file=sys.stderr)  # noqa: T201


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
    month = Period.parse(period, "parameter period")
    try:
        ws = Workspace.open(workspace, reports or None)
    except UsageError as exc:
        raise UsageError(f"parameter workspace: {exc}") from exc
    if not ws.inputs(month).is_dir():
        have = ", ".join(map(str, ws.periods())) or "none"
        raise UsageError(f"parameter period: no inputs for {month} in {ws.root} "
                         f"(months with inputs: {have})")
    return ReportContext(ws, month, tuple(dict.fromkeys(c.strip() for c in client_ids)))
