"""The notebooks' views of a month: record keeping, comparison, the monthly report's sections.

Every view returns an escaped :class:`~recon_helpers.present.html.Table` or
:class:`~recon_helpers.present.html.Html` (or displays several, for per-client sections).

Example:
    >>> inventory(rec)                       # last expression of a cell: drawn as a table
    >>> client_sections(rec, ctx)            # one heading, three-way table and chart per client
"""

from __future__ import annotations

import html
import shlex
from decimal import Decimal

import pandas as pd
from IPython.display import display

from recon_helpers.analysis.totals import month_totals
from recon_helpers.core.files import sha256_file
from recon_helpers.core.workspace import Workspace
from recon_helpers.present import charts
from recon_helpers.present.context import ReportContext
from recon_helpers.present.findings import FindingsTable, client_anchor
from recon_helpers.present.fmt import amount, count
from recon_helpers.present.html import Html, Table, dsum, fixed_point
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.summary import impact_by_kind

CONFIRM_HOWTO = ("run the confirm_with command (add --workspace DIR when the workspace is not "
                 "./data; --ignore VENDOR:ID --reason TEXT for a tenant that is not billed), "
                 "then re-run the notebook")
FINDING_VIEW = ("kind", "client", "product_id", "vendor", "vendor_customer", "vendor_sku",
                "vendor_qty", "agreement_qty", "invoiced_qty", "variance_qty", "unit_price",
                "unit_cost", "impact", "currency", "detail", "sources")


def month_line(rec: Reconciliation, ctx: ReportContext) -> Html:
    """One sentence on what was loaded and found, and which clients are in scope."""
    fig = rec.headline(ctx.client_ids)
    scope = ", ".join(ctx.client_ids) if ctx.client_ids else "all clients"
    return Html(
        f"<p>{rec.period}: {count(fig.files, 'input file')}, {count(fig.rows_read, 'row')} read "
        f"({fig.rows_used:,} used, {fig.rows_quarantined:,} quarantined), "
        f"{count(len(rec.clients), 'client')}, "
        f"{count(fig.discrepancies, 'discrepancy', 'discrepancies')} in scope "
        f"({html.escape(scope)}).</p>"
    )


def blockers(rec: Reconciliation) -> Html:
    """What to settle before reading any figure: missing or stale sources, unmapped
    customers (and the findings waiting on them), unmapped SKUs, held findings; or a line
    saying the month's inputs are complete and every vendor customer is mapped."""
    b = rec.blockers()
    if b.clear:
        return Html('<p class="recon-clear" data-blockers="0">Inputs complete: every expected '
                    "source is present and every vendor customer and SKU is mapped.</p>")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in b.lines(rec.period))
    return Html(f'<div class="recon-blockers" data-blockers="{len(b.lines(rec.period))}">'
                f"<strong>Settle these first</strong><ul>{items}</ul></div>")


def ignored(rec: Reconciliation) -> Table:
    """Vendor customers mappings/ignore.csv sets aside (not billed), with the reason."""
    frame = rec.blockers().ignored
    return Table(frame, f"{len(frame)} vendor customer(s) ignored (mappings/ignore.csv): they "
                 "raise no finding", "No vendor customer is ignored.")


# --- record keeping ----------------------------------------------------------------------


def inventory(rec: Reconciliation) -> Table:
    """Input files: format, size, sha256 and rows read = used + quarantined."""
    inv = rec.loaded.inventory
    cap = (f"{len(inv)} files; {int(inv['rows_read'].sum())} rows read = "
           f"{int(inv['rows_used'].sum())} used + {int(inv['rows_quarantined'].sum())} quarantined")
    if rec.loaded.ignored:
        cap += (f"; not read (hidden or lock files, folders, the pull log): "
                f"{', '.join(rec.loaded.ignored)}")
    if rec.loaded.duplicates:
        cap += "; not read, byte-identical copies: " + ", ".join(
            f"{copy} (of {original})" for copy, original in rec.loaded.duplicates.items())
    cols = ["file", "format", "entity", "origin", "encoding", "bytes", "rows_read", "rows_used",
            "rows_quarantined", "dates_from", "dates_to", "note", "sha256"]
    return Table(inv[[c for c in cols if c in inv]], cap, "No input files.",
                 fold=("origin", "encoding", "note", "sha256"))


def quarantine(rec: Reconciliation) -> Table:
    """Rows set aside, with the reason, the column and the raw value."""
    q = rec.loaded.quarantine
    return Table(q, f"{len(q)} rows quarantined", "No rows were quarantined.",
                 fold=("value", "client_id", "product_id", "vendor", "vendor_customer",
                       "vendor_sku"))


def coverage(rec: Reconciliation) -> Table:
    """Rows and vendor customers mapped per vendor, by mapping method."""
    return Table(rec.coverage(), "Mapping coverage per vendor", "No vendor rows this month.")


def _map_command(rec: Reconciliation, pair: str) -> str:
    return f"recon map --period {rec.period} --accept {shlex.quote(pair)}"


def client_suggestions(rec: Reconciliation, ws: Workspace) -> Table:
    """Fuzzy client suggestions for unmapped vendor customers, each with the command that
    confirms it (``recon map --accept``)."""
    s = rec.client_suggestions
    unmapped = int(rec.customers["client_method"].isin(["", "ambiguous"]).sum())
    calls = [_map_command(rec, f"{v}:{i or n}={c}") for v, i, n, c in zip(
        s["vendor"], s["vendor_customer_id"], s["vendor_customer_name"], s["client_id"],
        strict=True)]
    frame = s.assign(confirm_with=pd.Series(calls, index=s.index, dtype=object))
    return Table(frame, f"{unmapped} vendor customer(s) unmapped; suggestions are never used "
                 f"until confirmed: {CONFIRM_HOWTO}",
                 f"No fuzzy suggestions at or above score {rec.settings.fuzzy_min_score}; "
                 "unmapped customers are listed as unmapped_customer findings.")


def product_suggestions(rec: Reconciliation, ws: Workspace) -> Table:
    """Fuzzy product suggestions for unmapped vendor SKUs, each with the command that confirms
    it."""
    s = rec.product_suggestions
    calls = [_map_command(rec, f"{v}:{k}={p}")
             for v, k, p in zip(s["vendor"], s["vendor_sku"], s["product_id"], strict=True)]
    frame = s.assign(confirm_with=pd.Series(calls, index=s.index, dtype=object))
    return Table(frame, f"Product suggestions for unmapped SKUs: {CONFIRM_HOWTO}",
                 "No product suggestions; unmapped SKUs are listed as unmapped_product findings.")


# --- comparison ----------------------------------------------------------------------------


def findings_frame(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings in display order and columns (client as "name (id)")."""
    client = [f"{n} ({c})" if c else "" for c, n in
              zip(findings["client_id"], findings["client_name"], strict=True)]
    out = findings.assign(client=pd.Series(client, index=findings.index, dtype=object),
                          sources=findings["sources"].str.replace(";", "; ", regex=False))
    extra = [c for c in ("status", "action", "note", "actor") if c in out]
    return out[[*FINDING_VIEW, *extra]]


def findings_table(findings: pd.DataFrame, caption: str = "",
                   rec: Reconciliation | None = None, link_base: str = "") -> FindingsTable:
    """Findings as the narrow reviewer table (kind, client, product, delivered, agreed,
    invoiced, impact, status), with ids, explanation and file:row sources folded per row.

    Args:
        findings: findings or a status table (its status column is shown).
        caption: the caption (default: how many).
        rec: the month (for the invoiced unit price of each finding).
        link_base: the page holding the client sections ("" = this page).
    """
    cap = caption or count(len(findings), "discrepancy", "discrepancies")
    return FindingsTable(findings, cap, three_way=rec.three_way if rec is not None else None,
                         link_base=link_base)


def three_way_frame(tw: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """Readable three-way rows (any number of clients): delivered, promised, billed per
    product, and the kinds of discrepancy found on each.
    """
    keys = ["client_id", "product_id", "currency"]
    kinds = findings.groupby(keys)["kind"].agg(", ".join).rename("_found")
    found = tw[keys].merge(kinds, left_on=keys, right_index=True, how="left")["_found"]
    out = fixed_point(tw, ("delivered_qty", "agreement_qty", "less_included", "invoiced_qty"),
                      ("unit_price", "invoiced_amount"))
    out = out.rename(columns={"delivered_qty": "delivered", "agreement_qty": "promised",
                              "invoiced_qty": "billed", "invoiced_amount": "billed_amount"})
    out["findings"] = found.fillna("").astype(object).to_numpy()
    return out[["client_id", "product_id", "currency", "vendor", "vendor_sku", "delivered",
                "promised", "less_included", "billed", "unit_price", "billed_amount", "findings"]]


def _client_order(rec: Reconciliation, ctx: ReportContext) -> list[tuple[str, str, int]]:
    """(client_id, name, findings) in scope: most impact first, then the rest by id."""
    f = ctx.scope(rec.findings)
    f = f[f["client_id"].ne("")]
    size = f.assign(a=f["impact"].map(lambda v: abs(v) if isinstance(v, Decimal) else Decimal(0)))
    rank = size.groupby("client_id")["a"].agg(lambda s: max(s, default=Decimal(0)))
    counts = f.groupby("client_id").size()
    clients = ctx.scope(rec.clients)
    rows = [(c, n, int(counts.get(c, 0)), rank.get(c, Decimal(-1)))
            for c, n in zip(clients["client_id"], clients["client_name"], strict=True)]
    rows.sort(key=lambda r: (-r[3], r[0]))
    return [r[:3] for r in rows]


def client_sections(rec: Reconciliation, ctx: ReportContext, charts_for: int = 20,
                    status: pd.DataFrame | None = None) -> None:
    """Display one section per client with findings (heading, three-way table, findings),
    then the clients without findings, each folded, so hundreds of clients stay readable.

    Each section has the id ``client_anchor(client_id)``, the target of the client links of
    the tables and charts. ``status`` (a status table) adds each finding's status.

    The ``charts_for`` clients with the largest impact also get a chart: a browser draws a
    few dozen plotly charts quickly but takes minutes over hundreds, and the tables hold the
    same figures.
    """
    order = _client_order(rec, ctx)
    with_findings = [r for r in order if r[2]]
    display(Html(f"<p>{len(with_findings)} of {len(order)} clients in scope have discrepancies; "
                 "they come first, largest impact first"
                 + (f"; the first {charts_for} have a chart" if len(with_findings) > charts_for
                    else "") + ".</p>"))
    readable = three_way_frame(rec.three_way, rec.findings)  # converted once, split per client
    tw_raw = dict(tuple(rec.three_way.groupby("client_id", sort=False)))
    tw_by = {k: g.drop(columns="client_id") for k, g in readable.groupby("client_id", sort=False)}
    findings = status if status is not None else rec.findings
    f_by = dict(tuple(findings.groupby("client_id", sort=False)))
    none = readable.iloc[:0].drop(columns="client_id")
    folded, charted = [], 0
    for cid, name, n in order:
        tw = tw_by.get(cid, none)
        anchor = client_anchor(cid)
        if not n:
            folded.append(f'<details id="{anchor}"><summary>{html.escape(name)} '
                          f"({html.escape(cid)})</summary>"
                          f"{Table(tw, '', 'No products.').to_html()}</details>")
            continue
        display(Html(f'<h3 id="{anchor}">{html.escape(name)} ({html.escape(cid)})</h3>'))
        display(Table(tw, "Delivered vs promised vs billed per product", "No products."))
        display(FindingsTable(f_by[cid], count(n, "discrepancy", "discrepancies"),
                              three_way=rec.three_way))
        if charted < charts_for:
            charted += 1
            display(charts.client_three_way(tw_raw[cid], name))
    if folded:
        display(Html(f"<h3>Clients without discrepancies ({len(folded)})</h3>" + "".join(folded)))


# --- monthly report ------------------------------------------------------------------------


STATUS_ORDER = ("open", "held", "resolved", "applied", "conflict", "failed")


def status_counts(status: pd.DataFrame) -> dict[str, int]:
    """Findings per status, every status of STATUS_ORDER present (0 when none)."""
    got = status["status"].value_counts() if len(status) else pd.Series(dtype=int)
    return {s: int(got.get(s, 0)) for s in STATUS_ORDER}


def _card(key: str, label: str, value: str, css: str = "", sub: str = "") -> str:
    return (f'<div class="recon-card {css}" data-figure="{html.escape(key)}"><div class="value">'
            f'{html.escape(value)}</div><div class="label">{html.escape(label)}</div>'
            + (f'<div class="sub">{html.escape(sub)}</div>' if sub else "") + "</div>")


def summary_cards(rec: Reconciliation, ctx: ReportContext,
                  status: pd.DataFrame | None = None) -> Html:
    """The headline figures as cards: open vs resolved (with ``status``, a status table),
    contracted / invoiced / delivered, money to bill and to credit, and the vendor cost at
    risk of unmapped customers and SKUs apart from money to bill; then the input rows."""
    fig = rec.headline(ctx.client_ids)
    cards = [_card("discrepancies", "discrepancies", f"{fig.discrepancies:,}"),
             _card("clients_affected", "clients affected", f"{fig.clients_affected:,}")]
    if status is not None:
        n = status_counts(status)
        done = n["resolved"] + n["applied"] + n["conflict"] + n["failed"]
        cards += [_card("open", "open", f"{n['open']:,}", "open",
                        f"{n['held']:,} held" if n["held"] else ""),
                  _card("resolved", "resolved", f"{done:,}", "",
                        f"{n['applied']:,} applied in the PSA" if n["applied"] else "")]
    for cur, t in month_totals(rec, ctx.client_ids):
        cards += [
            _card(f"contracted:{cur}", f"contracted ({cur})", amount(t.contracted)),
            _card(f"invoiced:{cur}", f"invoiced ({cur})", amount(t.invoiced)),
            _card(f"delivered:{cur}", f"delivered by vendors, at agreed prices ({cur})",
                  amount(t.delivered),
                  sub=(f"{t.delivered_unpriced} without a price" if t.delivered_unpriced
                       else "")),
            _card(f"to_bill:{cur}", f"still to bill ({cur})", amount(t.to_bill), "bill"),
            _card(f"to_credit:{cur}", f"to credit ({cur})", amount(t.to_credit)),
            _card(f"cost_at_risk:{cur}", f"vendor cost at risk, unmapped ({cur})",
                  amount(t.cost_at_risk), "risk", "not billable until mapped"),
        ]
    cards += [_card("rows_read", "rows read", f"{fig.rows_read:,}"),
              _card("rows_quarantined", "rows quarantined", f"{fig.rows_quarantined:,}",
                    sub=f"{fig.rows_used:,} used")]
    return Html(f'<div class="recon-cards">{"".join(cards)}</div>')


def impact_table(findings: pd.DataFrame) -> Table:
    """Count and impact per kind and currency (to bill, to credit, net)."""
    return Table(impact_by_kind(findings), "Findings and impact by kind", "No discrepancies.")


def client_report(status: pd.DataFrame, rec: Reconciliation, ctx: ReportContext) -> None:
    """Display a compact section per client with discrepancies: findings with their status."""
    everyone = _client_order(rec, ctx)
    order = [r for r in everyone if r[2]]
    by = dict(list(status.groupby("client_id", sort=False)))
    for cid, name, n in order:
        f = by[cid]
        nets = ", ".join(amount(dsum(g["impact"]), str(cur)) for cur, g in f.groupby("currency"))
        n_open = int(f["status"].eq("open").sum())
        display(Html(f'<h3 id="{client_anchor(cid)}">{html.escape(name)} ({html.escape(cid)})'
                     f"</h3><p>{count(n, 'discrepancy', 'discrepancies')}, {n_open} open; "
                     f"net impact {html.escape(nets)}</p>"))
        display(FindingsTable(f, "", three_way=rec.three_way))
    rest = len(everyone) - len(order)
    display(Html(f"<p>{count(rest, 'other client')} in scope reconcile with no "
                 "discrepancies.</p>"))


def lineage(rec: Reconciliation, ws: Workspace) -> Table:
    """Every file the figures come from, with its sha256: inputs, mappings and settings."""
    rows = [{"kind": "input", "file": r.file, "bytes": int(r.bytes), "sha256": r.sha256,
             "rows_read": int(r.rows_read)} for r in rec.loaded.inventory.itertuples(index=False)]
    for kind, path in (("mapping", ws.clients_map), ("mapping", ws.products_map),
                       ("mapping", ws.ignore_map), ("settings", ws.config_path)):
        if path.is_file():
            rows.append({"kind": kind, "file": path.name, "bytes": path.stat().st_size,
                         "sha256": sha256_file(path), "rows_read": ""})
    # the workspace by its folder name: a rendered page never shows the machine's paths
    return Table(pd.DataFrame(rows, dtype=object),
                 f"Input lineage: {len(rows)} files from the workspace {ws.root.resolve().name}")


