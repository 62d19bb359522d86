"""Client statements: what one client is billed this month, compared with last month, and why.

A statement is built from the expected invoice (invoicing.py) of the month and of the calendar
month before it, so it shows what the client *should* be billed, decisions included. It shows
the client's services, quantities last month and this month, what changed and why, the
invoice lines and the amount; it never shows costs, margins, input file names, discrepancy
kinds, auditor notes, other clients, or the names of vendors the MSP keeps to itself:

``recon.toml``::

    [statement]
    show_vendor_names = false        # default: no "provided by" column
    hidden_vendors = ["pax8"]        # never named anywhere, even inside product descriptions

``recon statement`` renders notebooks/06_client_statement.ipynb with papermill (one client per
run) into ``reports/<YYYY-MM>/clients/<client_id>.html`` (+ .ipynb), with report.py's
``execute`` and ``export_html``. Re-rendering the monthly report replaces ``reports/<YYYY-MM>/``
and with it the statements: render statements after the report (and before the sign-off, so
the seal covers them).

Example:
    >>> render_statement(ws, "2026-10", "ACMEMANU00")
    PosixPath('reports/2026-10/clients/ACMEMANU00.html')
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from recon_helpers.audit.decisions import latest_decisions
from recon_helpers.audit.status import Html
from recon_helpers.billing.invoicing import expected_invoice
from recon_helpers.core.errors import ConfigError, RenderError, UsageError
from recon_helpers.core.schemas import CENT
from recon_helpers.core.workspace import Settings, Workspace, check_period
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.report import (
    NOTEBOOKS_DIR,
    ReportContext,
    check_parameters,
    execute,
    export_html,
    parameters_for,
)

STATEMENT_NOTEBOOK = NOTEBOOKS_DIR / "06_client_statement.ipynb"
VENDOR_NAMES = {"microsoft": "Microsoft", "pax8": "Pax8", "datto_rmm": "Datto RMM",
                "sentinelone": "SentinelOne", "huntress": "Huntress", "acronis": "Acronis"}
LINE_WORDS = {"recurring": "monthly service", "true_up": "adjustment", "credit": "credit"}


@dataclass(frozen=True)
class StatementOptions:
    """What a statement may name: ``[statement]`` of recon.toml."""

    hidden_vendors: tuple[str, ...] = ()
    show_vendor_names: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> StatementOptions:
        """Read ``[statement]`` from ``Settings.raw``.

        Raises:
            ConfigError: a value of the wrong type, naming the key.
        """
        table = settings.raw.get("statement", {})
        if not isinstance(table, dict):
            raise ConfigError("recon.toml: [statement] must be a table")
        hidden = table.get("hidden_vendors", [])
        show = table.get("show_vendor_names", False)
        if not isinstance(hidden, list) or not all(isinstance(v, str) for v in hidden):
            raise ConfigError('recon.toml: statement.hidden_vendors must be a list of vendor '
                              f'names such as ["pax8"], not {hidden!r}')
        if not isinstance(show, bool):
            raise ConfigError(f"recon.toml: statement.show_vendor_names must be true or false, "
                              f"not {show!r}")
        return cls(tuple(v.strip().lower() for v in hidden if v.strip()), show)

    def _terms(self) -> list[str]:
        """Every spelling of the hidden vendors: key, display name and its first word."""
        terms = set()
        for key in self.hidden_vendors:
            label = VENDOR_NAMES.get(key, key)
            terms |= {key, key.replace("_", " "), label, label.split()[0]}
        return sorted((t for t in terms if t), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with every hidden vendor name removed (case-insensitive, also inside
        words: a product called "Pax8Sync" must not name Pax8 either)."""
        for term in self._terms():
            text = re.sub(rf"(?i){re.escape(term)}", "", text)
        text = re.sub(r"\(\s*\)|\[\s*\]", "", text)  # brackets the name stood in
        return re.sub(r"\s{2,}", " ", text).strip(" -:,")

    def provided_by(self, vendors: str) -> str:
        """Display names of the vendors behind a product ("" when names are not shown)."""
        if not self.show_vendor_names:
            return ""
        keys = [v for v in vendors.split(";") if v and v.lower() not in self.hidden_vendors]
        return ", ".join(dict.fromkeys(VENDOR_NAMES.get(k.lower(), k) for k in keys))


def previous_period(period: str) -> str:
    """The calendar month before ``period``."""
    year, month = map(int, check_period(period).split("-"))
    return f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"


def month_name(period: str) -> str:
    """``2026-10`` -> ``October 2026``."""
    year, month = map(int, period.split("-"))
    return date(year, month, 1).strftime("%B %Y")


def _dtext(value: Any, money_like: bool = False) -> str:
    if not isinstance(value, Decimal):
        return ""
    if money_like and value.as_tuple().exponent > -2:  # type: ignore[operator]
        value = value.quantize(CENT)
    return f"{value:,f}"


def _dsum(values: Any) -> Decimal | None:
    vals = list(values)
    if any(v is None for v in vals):
        return None
    return sum(vals, Decimal("0.00"))


def _per_product(lines: pd.DataFrame) -> pd.DataFrame:
    """Quantity (recurring + adjustments) and amount per product and currency."""
    cols = ["product_id", "currency", "description", "quantity", "amount"]
    if lines.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (pid, cur), grp in lines.groupby(["product_id", "currency"], sort=True):
        units = grp[grp["line_type"].ne("credit")]
        rows.append({"product_id": pid, "currency": cur,
                     "description": grp["description"].iloc[0],
                     "quantity": sum(units["quantity"], Decimal(0)),
                     "amount": _dsum(grp["amount"])})
    return pd.DataFrame(rows, columns=cols)


def _change(now: Decimal | None, before: Decimal | None, has_previous: bool) -> str:
    if not has_previous:
        return "first month on record"
    if before is None or before == 0:
        return "new this month" if now else "no change"
    if now is None or now == 0:
        return "no longer billed"
    if now == before:
        return "no change"
    diff = now - before
    return f"{abs(diff):,f} {'more' if diff > 0 else 'fewer'}"


@dataclass
class Statement:
    """One client's statement for one month (client-safe: see the module docstring)."""

    client_id: str
    client_name: str
    period: str
    previous: str
    has_previous: bool
    services: pd.DataFrame
    lines: pd.DataFrame
    changes: list[str] = field(default_factory=list)
    totals: dict[str, Decimal | None] = field(default_factory=dict)

    def header(self) -> Html:
        """Client, month and amount, with the table styles."""
        from recon_helpers.present.views import CSS

        e = html.escape
        amounts = ", ".join(f"{_dtext(v, True) if v is not None else 'to be confirmed'} {e(c)}"
                            for c, v in self.totals.items()) or "nothing billed"
        compared = (f"compared with {month_name(self.previous)}" if self.has_previous
                    else f"no statement data for {month_name(self.previous)}")
        return Html(
            f'{CSS}<div class="recon-statement"><h2>{e(self.client_name)}</h2>'
            f"<p>Client {e(self.client_id)} · statement for {e(month_name(self.period))} "
            f"({e(compared)})</p><div class=\"recon-cards\"><div class=\"recon-card\">"
            f'<div class="value">{e(amounts)}</div><div class="label">amount for '
            f"{e(month_name(self.period))}</div></div></div></div>"
        )

    def services_table(self) -> Any:
        """Services with quantities last month and this month, the change and the amount."""
        from recon_helpers.present.views import Table

        return Table(self.services, f"Your services in {month_name(self.period)}",
                     "No services this month.")

    def changes_list(self) -> Html:
        """What changed since last month and why, one plain sentence per service."""
        if not self.changes:
            return Html(f"<p>Nothing changed since {html.escape(month_name(self.previous))}.</p>")
        items = "".join(f"<li>{html.escape(c)}</li>" for c in self.changes)
        return Html(f"<ul class=\"recon-changes\">{items}</ul>")

    def lines_table(self) -> Any:
        """The invoice lines: monthly services, adjustments and credits."""
        from recon_helpers.present.views import Table

        return Table(self.lines, f"Invoice lines for {month_name(self.period)}",
                     "No invoice lines this month.")


def statement_for(
    rec: Reconciliation, client_id: str, decisions: pd.DataFrame | None = None,
    previous: Reconciliation | None = None, previous_decisions: pd.DataFrame | None = None,
    options: StatementOptions | None = None,
) -> Statement:
    """Build one client's statement from the month (and the month before, when given).

    Raises:
        UsageError: the client is not in the month.
    """
    options = options or StatementOptions.from_settings(rec.settings)
    names = rec.clients.drop_duplicates("client_id").set_index("client_id")["client_name"]
    if client_id not in names.index:
        raise UsageError(f"no client {client_id!r} in {rec.period}")
    now = expected_invoice(rec, decisions, [client_id])
    before = (expected_invoice(previous, previous_decisions, [client_id]) if previous is not None
              else now.iloc[:0])
    a, b = _per_product(now), _per_product(before)
    merged = a.merge(b, on=["product_id", "currency"], how="outer", suffixes=("", "_prev"))
    merged["description"] = merged["description"].fillna(merged["description_prev"])
    tw = rec.three_way[rec.three_way["client_id"].eq(client_id)]
    vendors = dict(zip(tw["product_id"], tw["vendor"], strict=True))
    services, changes = [], []
    for r in merged.sort_values(["description", "currency"], kind="stable").to_dict("records"):
        q_now = r["quantity"] if isinstance(r["quantity"], Decimal) else None
        q_prev = r["quantity_prev"] if isinstance(r["quantity_prev"], Decimal) else None
        name = options.scrub(str(r["description"])) or str(r["product_id"])
        change = _change(q_now, q_prev, previous is not None)
        row = {"service": name, "last month": q_prev if previous is not None else None,
               "this month": q_now, "change": change,
               "amount": r["amount"] if isinstance(r["amount"], Decimal) else None,
               "currency": r["currency"]}
        if options.show_vendor_names:
            row["provided by"] = options.provided_by(vendors.get(r["product_id"], ""))
        services.append(row)
        own = now[now["product_id"].eq(r["product_id"]) & now["currency"].eq(r["currency"])]
        why = [options.scrub(f"{LINE_WORDS[t]}: {x}") for t, x in
               zip(own["line_type"], own["explanation"], strict=True) if t != "recurring"
               or x != "monthly service as agreed"]
        if change not in ("no change", "first month on record") or why:
            changes.append(f"{name}: {change}" + (f" ({'; '.join(why)})" if why else "") + ".")
    lines = pd.DataFrame({
        "service": [options.scrub(d) or p for d, p in
                    zip(now["description"], now["product_id"], strict=True)],
        "line": now["line_type"].map(LINE_WORDS), "quantity": now["quantity"],
        "unit price": now["unit_price"], "amount": now["amount"], "currency": now["currency"],
        "details": [options.scrub(x) for x in now["explanation"]],
    })
    totals = {cur: _dsum(g["amount"]) for cur, g in now.groupby("currency", sort=True)}
    return Statement(client_id, str(names[client_id]), rec.period, previous_period(rec.period),
                     previous is not None, pd.DataFrame(services), lines, changes, totals)


def build(ctx: ReportContext) -> Statement:
    """The statement of the notebook's one client (reconciles the month and the one before).

    Raises:
        UsageError: not exactly one client in ``client_ids``, or an unknown client.
    """
    if len(ctx.client_ids) != 1:
        raise UsageError(f"parameter client_ids: a statement is for exactly one client, got "
                         f"{list(ctx.client_ids)!r}")
    rec = ctx.reconcile()
    ws, prev = ctx.workspace, previous_period(ctx.period)
    previous = reconcile_period(ws, prev) if ws.inputs(prev).is_dir() else None
    return statement_for(rec, ctx.client_ids[0], latest_decisions(ws, ctx.period), previous,
                         latest_decisions(ws, prev) if previous is not None else None,
                         StatementOptions.from_settings(rec.settings))


def statement_name(client_id: str) -> str:
    """File stem of a client's statement: the id, percent-encoded where a path needs it."""
    name = quote(client_id, safe="-_.@+ ")
    return "%2E" + name[1:] if name.startswith(".") else name


def statement_path(workspace: Workspace, period: str, client_id: str) -> Path:
    """``reports/<period>/clients/<client_id>.html``."""
    return workspace.report_dir(period) / "clients" / f"{statement_name(client_id)}.html"


def render_statement(workspace: Workspace, period: str, client_id: str,
                     timeout: int = 600) -> Path:
    """Render one client's statement with papermill; write .ipynb and .html; return the .html.

    A failed render leaves an earlier statement of that client as it was.

    Raises:
        UsageError: a bad period, or the notebook does not declare the parameters.
        RenderError: a notebook cell failed (e.g. an unknown client), naming the cell, or the
            statement could not be written (e.g. a full disk).
    """
    period = check_period(period)
    parameters = parameters_for(workspace, period, [client_id])
    check_parameters(STATEMENT_NOTEBOOK, parameters)
    target = statement_path(workspace, period, client_id)
    try:
        _render_statement_into(target, parameters, period, timeout)
    except OSError as exc:  # a full disk, a file size limit, no permission
        raise RenderError(f"cannot write the statement {target}: {exc}; an earlier statement, "
                          "if any, was left as it was") from exc
    return target


def _render_statement_into(target: Path, parameters: dict[str, object], period: str,
                           timeout: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".render-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        ipynb = tmp / f"{target.stem}.ipynb"
        execute(STATEMENT_NOTEBOOK, ipynb, parameters, timeout)
        export_html(ipynb, ipynb.with_suffix(".html"), period)
        os.replace(ipynb, target.with_suffix(".ipynb"))
        os.replace(ipynb.with_suffix(".html"), target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render_statements(workspace: Workspace, period: str, client_ids: Sequence[str],
                      timeout: int = 600) -> list[Path]:
    """Render the statements of several clients, one papermill run each."""
    return [render_statement(workspace, period, c, timeout) for c in client_ids]
