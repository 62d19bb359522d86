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

Showing a statement is :mod:`recon_helpers.present.statements`; rendering it into
``reports/<YYYY-MM>/clients/`` is :mod:`recon_helpers.render.statements`.

Example:
    >>> statement_for(rec, "ACMEMANU00", latest_decisions(ws, october), previous)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.billing.invoicing import expected_invoice
from recon_helpers.core.errors import ConfigError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Settings
from recon_helpers.reconcile.result import Reconciliation

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


@dataclass(frozen=True)
class Statement:
    """One client's statement for one month (client-safe: see the module docstring)."""

    client_id: str
    client_name: str
    period: Period
    has_previous: bool
    services: pd.DataFrame
    lines: pd.DataFrame
    changes: tuple[str, ...] = ()
    totals: dict[str, Decimal | None] = field(default_factory=dict)  # per currency, sorted


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
    rec.check_clients([client_id], "client")
    names = rec.clients.drop_duplicates("client_id").set_index("client_id")["client_name"]
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
    return Statement(client_id, str(names[client_id]), rec.period, previous is not None,
                     pd.DataFrame(services), lines, tuple(changes), totals)


