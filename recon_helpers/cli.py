"""The ``recon`` command line (SPEC): demo, pull, reconcile, report, signoff, verify, lab,
invoice, statement, adjustments, resolve, apply.

Exit status: 0 success, 1 a finding the user must act on (open discrepancies, a failed
verification), 2 bad usage or unreadable input, with a message naming file, row and problem.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd

from recon_helpers.core.errors import ReconError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.demo.psas import PSAS


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.workspace, args.reports)


def _period(args: argparse.Namespace) -> Period:
    return Period.parse(args.period, "--period")


def _table(frame: pd.DataFrame, limit: int = 40) -> str:
    if frame.empty:
        return "  (none)"
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.max_colwidth", 48):
        text = frame.head(limit).to_string(index=False)
    more = f"\n  ... {len(frame) - limit} more" if len(frame) > limit else ""
    return "\n".join("  " + line for line in text.splitlines()) + more


def cmd_demo(args: argparse.Namespace) -> int:
    """Write the bundled demo workspace."""
    from recon_helpers.demo.write import write_demo

    root = Path(args.workspace)
    summary = write_demo(root, force=args.force, psa=args.psa)
    print(f"demo workspace written to {root}: {summary}")
    print(f"next: recon reconcile --workspace {root} --period {summary['latest_period']}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Load, map and match one month; print a summary; optionally write the findings."""
    from recon_helpers.reconcile.run import reconcile_period
    from recon_helpers.reconcile.summary import impact_by_kind, top_clients

    ws, period = _workspace(args), _period(args)
    rec = reconcile_period(
        ws, period, progress=lambda step: print(f"  {step}", file=sys.stderr)
    )
    inv = rec.loaded.inventory
    print(f"Inputs for {period} ({len(inv)} files):")
    print(_table(inv[["file", "format", "rows_read", "rows_used", "rows_quarantined",
                      "origin"]]))
    if rec.loaded.ignored:
        print(f"  not read (hidden or lock files, folders, the pull log): "
              f"{', '.join(rec.loaded.ignored)}")
    q = rec.loaded.quarantine
    print(f"\nQuarantined rows: {len(q)}")
    if len(q):
        print(_table(q.groupby(["file", "reason"]).size().rename("rows").reset_index()))
    print("\nMapping coverage:")
    print(_table(rec.coverage()))
    print(f"\nDiscrepancies: {len(rec.findings)}")
    print(_table(impact_by_kind(rec.findings)))
    print("\nClients with the largest impact:")
    print(_table(top_clients(rec.findings, 10)))
    from recon_helpers.audit.status import mark_findings

    marked = mark_findings(rec.findings, ws, period)  # decisions from the ledger, if any
    n_open = int(marked["status"].eq("open").sum())
    written = marked["status"].value_counts().reindex(["applied", "conflict", "failed"])
    back = ", ".join(f"{int(n)} {s}" for s, n in written.items() if n > 0)
    print(f"\nResolution: {n_open} open, {len(marked) - n_open} resolved "
          f"{f'({back} in the PSA) ' if back else ''}(decisions in {ws.ledger_path})")
    if args.out:
        from recon_helpers.core.exports import write_table
        from recon_helpers.reconcile.summary import findings_for_export

        out = Path(args.out)
        write_table(findings_for_export(marked), out)
        print(f"\nwrote {len(rec.findings)} discrepancies to {out}")
    return 1 if n_open else 0


def cmd_pull(args: argparse.Namespace) -> int:
    """Fetch the month's raw data from the configured APIs into inputs/<period>/."""
    from recon_helpers.connect.pull import pull_month
    from recon_helpers.ingest.sources import sources_of_file

    ws, period = _workspace(args), _period(args)
    settings = ws.settings()
    result = pull_month(ws, period, args.sources, replace=args.replace, progress=not
                        args.no_progress, classify=lambda p: sources_of_file(p, settings),
                        echo=print)
    for moved in result.replaced:
        print(f"moved {moved['file']} to {moved['moved_to']}")
    print(f"pulled into {ws.inputs(period)} ({sum(map(len, result.files.values()))} files; "
          f"provenance in pull-log.json); next: recon reconcile --period {period}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render the month's notebooks into reports/<period>/ and print the paths."""
    from recon_helpers.render.report import MANIFEST, render_period

    ws, period = _workspace(args), _period(args)
    folder = render_period(ws, period, args.client_ids or (), timeout=args.timeout,
                           progress=not args.no_progress)
    for path in [*sorted(folder.glob("*.html")), folder / MANIFEST]:
        print(path)
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on notebooks/ with copies of the notebooks preset to a month."""
    import shlex
    import subprocess

    from recon_helpers.render.lab import lab_command, preset_notebooks

    ws = _workspace(args)
    period = _period(args) if args.period else (ws.periods() or [None])[-1]
    if period is None:
        raise UsageError(f"no month with inputs in {ws.root}; give --period or add inputs")
    cmd = lab_command(period, port=args.port, no_browser=args.no_browser)
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    folder = preset_notebooks(ws, period, args.client_ids or ())
    print(f"notebooks preset to {period} in {folder}; starting JupyterLab (Ctrl-C to stop)")
    return subprocess.call(cmd)


def cmd_invoice(args: argparse.Namespace) -> int:
    """Write the month's expected invoice lines (CSV or XLSX) in a shape a PSA import takes."""
    from recon_helpers.audit.decisions import latest_decisions
    from recon_helpers.billing.invoicing import (
        expected_invoice,
        invoice_for_export,
        invoice_totals,
    )
    from recon_helpers.core.exports import write_table
    from recon_helpers.reconcile.run import reconcile_period

    ws, period, out = _workspace(args), _period(args), Path(args.out)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(f"--out {out}: the file name must end in .csv or .xlsx")
    rec = reconcile_period(ws, period)
    clients = list(dict.fromkeys(args.client_ids or ()))
    rec.check_clients(clients, "--client")
    lines = expected_invoice(rec, latest_decisions(ws, period), clients)
    write_table(invoice_for_export(lines), out, sheet_name=f"invoice {period}")
    totals = invoice_totals(lines)
    print(f"Expected invoice {period}: {len(lines)} lines for {len(totals)} client(s)")
    print(_table(lines.groupby(["line_type", "currency"]).size().rename("lines").reset_index()))
    for cur, grp in totals.groupby("currency"):
        print(f"  total {cur}: {sum(grp['total'], Decimal('0.00')):,f}")
    print(f"wrote {out}")
    unpriced = int(lines["amount"].isna().sum())
    if unpriced:
        print(f"{unpriced} line(s) have no price (unbilled service without a catalogue price): "
              "price them before importing", file=sys.stderr)
        return 1
    return 0


def cmd_statement(args: argparse.Namespace) -> int:
    """Render one client statement per --client into reports/<period>/clients/."""
    from recon_helpers.render.statements import render_statement

    ws, period = _workspace(args), _period(args)
    for client_id in dict.fromkeys(args.client_ids):
        print(render_statement(ws, period, client_id, timeout=args.timeout))
    return 0


def cmd_signoff(args: argparse.Namespace) -> int:
    """Seal the month's rendered report as preparer or reviewer (exit 2 when refused)."""
    from recon_helpers.audit.signoff import GROUPS, SEAL_FILE, SEAL_PAGE, seal
    from recon_helpers.present.signoff import write_signoff_page

    ws, period = _workspace(args), _period(args)
    document = seal(ws, period, args.role, args.name)
    write_signoff_page(ws, period)
    sealed = document["seal"]
    print(f"{period} signed by {args.role} {sealed['name']}: ledger entry seq {sealed['seq']}, "
          f"status now {document['status']}")
    print(f"  seal hash: {sealed['hash']} (keep a copy outside the workspace; "
          "recon verify --seal <hash> checks the ledger still holds it)")
    for group in GROUPS:
        print(f"  {group}: {len(sealed.get(group) or {})} file(s) sealed")
    print(f"  ledger head at the seal: {sealed['ledger_head']}")
    folder = ws.report_dir(period)
    print(f"wrote {folder / SEAL_FILE} and {folder / SEAL_PAGE}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Recompute the month's seal; exit 0 when intact, 1 naming every change."""
    from recon_helpers.audit.signoff import status, verify

    ws, period = _workspace(args), _period(args)
    problems = verify(ws, period, args.seals or ())
    print(f"{period}: sign-off status {status(ws, period)}")
    if not problems:
        print(f"{period}: intact (report, inputs, mappings, settings and ledger as sealed)")
        return 0
    print(f"{period}: NOT intact, {len(problems)} problem(s):")
    for problem in problems:
        print(f"  - {problem}")
    return 1


def cmd_adjustments(args: argparse.Namespace) -> int:
    """Write the agreement and invoice changes the month's decisions imply."""
    from recon_helpers.billing.adjustments import write_adjustments

    ws, period = _workspace(args), _period(args)
    path, table = write_adjustments(ws, period, args.out)
    print(f"Adjustments {period}: {len(table)} change(s) from the decisions in {ws.ledger_path}")
    print(_table(table.groupby(["change_type", "currency"]).size().rename("changes")
                 .reset_index()))
    print(f"wrote {path}")
    return 0


def _check_resolve(args: argparse.Namespace, period: Period) -> None:
    """Refuse a bad ``recon resolve`` before the month is loaded."""
    from recon_helpers.audit.decisions import decision_payload

    if bool(args.keys) == bool(args.kind):
        raise UsageError("give either --key KEY (repeatable) or --kind KIND")
    if args.keys and (args.client or args.product):
        raise UsageError("--client and --product select with --kind, not with --key")
    if args.kind:  # with --key the kind (and so the rules) is known once loaded
        decision_payload(period, args.action, args.note or "", kind=args.kind,
                         new_quantity=args.new_quantity, effective_date=args.effective)


def _refresh_signoff_page(ws: Workspace, period: Period) -> None:
    """Rewrite signoff.html of a signed month after its ledger changed (it says reopened)."""
    from recon_helpers.audit.signoff import SEAL_FILE
    from recon_helpers.present.signoff import write_signoff_page

    if (ws.report_dir(period) / SEAL_FILE).is_file():
        write_signoff_page(ws, period)


def cmd_resolve(args: argparse.Namespace) -> int:
    """Record one decision on one finding, or on every finding of a kind (exit 2 if refused)."""
    from recon_helpers.audit.status import findings_of_kind, resolve_many
    from recon_helpers.reconcile.run import reconcile_period

    ws, period = _workspace(args), _period(args)
    _check_resolve(args, period)
    rec = reconcile_period(ws, period)
    keys = (list(dict.fromkeys(args.keys)) if args.keys else
            findings_of_kind(rec.findings, period, args.kind, args.client, args.product))
    entries = resolve_many(ws, period, keys, args.action, args.note or "", args.actor,
                           new_quantity=args.new_quantity, effective_date=args.effective,
                           rec=rec)
    _refresh_signoff_page(ws, period)
    print(f"recorded {len(entries)} decision(s) in {ws.ledger_path}:")
    for entry in entries:
        when = entry.payload.get("effective_date")
        print(f"  seq {entry.seq}: {entry.payload['action']}"
              + (f" to {entry.payload['new_quantity']}" if "new_quantity" in entry.payload
                 else "") + (f" from {when}" if when else "") + f" on {entry.key}")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    """Print the write-back plan; with --yes carry it out (exit 1 on a conflict or failure)."""
    import getpass

    from recon_helpers.audit.apply_log import read_states
    from recon_helpers.audit.decisions import latest_decisions
    from recon_helpers.billing.apply import apply_changes
    from recon_helpers.billing.writeback import plan, plan_frame, undo_for
    from recon_helpers.reconcile.run import reconcile_period

    ws, period = _workspace(args), _period(args)
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    states = read_states(ws, period)
    if args.undo is not None:
        if args.only or args.limit is not None:
            raise UsageError("--undo takes neither --only nor --limit")
        changes = [undo_for(states, args.undo)]
    else:
        rec = reconcile_period(ws, period)
        rec.check_clients(args.only or [], "--only")
        changes = plan(rec, latest_decisions(ws, period), states, only=args.only or (),
                       limit=args.limit)
    ready = sum(c.state == "ready" for c in changes)
    print(f"Write-back plan {period}: {len(changes)} change(s), {ready} ready")
    print(_table(plan_frame(changes).drop(columns=["change"]), limit=200))
    if not args.yes:
        print(f"dry run: no request was sent to any PSA; `recon apply --period {period}"
              f"{f' --undo {args.undo}' if args.undo is not None else ''} --yes` applies "
              f"the {ready} ready change(s)")
        return 0
    results = apply_changes(ws, period, changes, args.actor or getpass.getuser(), echo=lambda r:
                            print(f"  {r.outcome:8} {r.change.object}: {r.detail}"
                                  + (f" [ledger seq {r.seq}]" if r.seq else "")))
    _refresh_signoff_page(ws, period)
    if not results:
        print("nothing was ready to apply; no request was sent")
        return 0
    bad = [r for r in results if r.outcome != "applied"]
    print(f"applied {len(results) - len(bad)} of {len(results)}; "
          f"{len(bad)} not (conflict, failed or unknown: see above; a rerun reads the PSA "
          "first and sends only what is still missing)")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``recon``."""
    parser = argparse.ArgumentParser(
        prog="recon", description="MSP billing reconciliation: vendors vs agreements vs invoices"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str, func, period: bool = True) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--workspace", default="data", help="workspace folder (default: data)")
        p.add_argument("--reports", default=None,
                       help="reports folder (default: beside the workspace)")
        if period:
            p.add_argument("--period", required=True, help="month, YYYY-MM")
        p.set_defaults(func=func)
        return p

    demo = add("demo", "write the bundled demo workspace", cmd_demo, period=False)
    demo.add_argument("--force", action="store_true", help="replace an existing demo workspace")
    demo.add_argument("--psa", choices=PSAS, default="connectwise",
                      help="write the PSA side as this PSA's exports (default: connectwise)")
    pull = add("pull", "fetch the month's raw data from the vendor and PSA APIs into "
               "inputs/<period>/", cmd_pull)
    pull.add_argument("--source", dest="sources", action="append", metavar="NAME",
                      help="source to pull (repeatable; default: every configured one): "
                           "connectwise, autotask, pax8, microsoft, datto_rmm, sentinelone, "
                           "huntress")
    pull.add_argument("--replace", action="store_true",
                      help="move the month's files of the pulled sources into "
                           ".replaced/<time>/ first (nothing is deleted)")
    pull.add_argument("--no-progress", action="store_true", help="no progress bars")
    rec = add("reconcile", "load, map and match one month; print a summary", cmd_reconcile)
    rec.add_argument("--out", help="write the discrepancy table (.csv or .xlsx)")
    rep = add("report", "render the month's notebooks into reports/<period>/ (.ipynb, .html, "
              "manifest.json)", cmd_report)
    rep.add_argument("--client", dest="client_ids", action="append", metavar="ID",
                     help="PSA client id in scope (repeatable; default: all clients)")
    rep.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (600)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    lab = add("lab", "open JupyterLab on notebooks/ with the workspace and month preset",
              cmd_lab, period=False)
    lab.add_argument("--period", help="month, YYYY-MM (default: the latest with inputs)")
    lab.add_argument("--client", dest="client_ids", action="append", metavar="ID",
                     help="PSA client id in scope (repeatable)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--port", type=int, help="port for JupyterLab")
    lab.add_argument("--dry-run", action="store_true",
                     help="print the JupyterLab command instead of running it")
    inv = add("invoice", "write the month's expected invoice lines (.csv or .xlsx) for a PSA "
              "import", cmd_invoice)
    inv.add_argument("--out", required=True, help="invoice file to write (.csv or .xlsx)")
    inv.add_argument("--client", dest="client_ids", action="append", metavar="ID",
                     help="PSA client id (repeatable; default: all clients)")
    stm = add("statement", "render a client statement into reports/<period>/clients/<id>.html",
              cmd_statement)
    stm.add_argument("--client", dest="client_ids", action="append", metavar="ID",
                     required=True, help="PSA client id (repeatable: one statement each)")
    stm.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (600)")
    sign = add("signoff", "seal the rendered report of a month (preparer first, then a "
               "different reviewer)", cmd_signoff)
    sign.add_argument("--role", required=True, choices=("preparer", "reviewer"))
    sign.add_argument("--name", required=True, help="who signs")
    ver = add("verify", "check the signed report, inputs, mappings and ledger against the seal",
              cmd_verify)
    ver.add_argument("--seal", dest="seals", action="append", metavar="HASH",
                     help="a seal hash kept outside the workspace (repeatable): it must still "
                          "be a sign-off of the month in the ledger")
    adj = add("adjustments", "write the agreement and invoice changes the decisions imply "
              "(.csv or .xlsx)", cmd_adjustments)
    adj.add_argument("--out", required=True, help="file to write (.csv or .xlsx)")
    res = add("resolve", "record a decision on findings (one key, or every finding of a kind)",
              cmd_resolve)
    res.add_argument("--key", dest="keys", action="append", metavar="KEY",
                     help="finding key (column `key` of recon reconcile --out; repeatable)")
    res.add_argument("--kind", help="every finding of this kind (with --client / --product)")
    res.add_argument("--client", help="with --kind: only this client's findings")
    res.add_argument("--product", help="with --kind: only this product's findings")
    res.add_argument("--action", required=True, help="adjust_agreement, adjust_invoice, "
                     "credit_client, accept, escalate, fix_mapping, reopen")
    res.add_argument("--note", help="the reason (required for accept and escalate)")
    res.add_argument("--new-quantity", dest="new_quantity", metavar="Q",
                     help="for adjust_agreement / adjust_invoice (exact decimal)")
    res.add_argument("--effective", metavar="YYYY-MM-DD", help="adjust_agreement holds from "
                     "this day (default: the first day of the next month)")
    res.add_argument("--actor", required=True, help="who decides")
    app = add("apply", "print the write-back plan of the month's decisions; --yes carries it "
              "out in the PSA", cmd_apply)
    app.add_argument("--yes", action="store_true", help="apply (without it: only the plan, "
                     "no request sent)")
    app.add_argument("--only", action="append", metavar="CLIENT",
                     help="only this client's changes (repeatable)")
    app.add_argument("--limit", type=int, metavar="N", help="apply at most N changes")
    app.add_argument("--undo", type=int, metavar="SEQ", help="reverse the applied change "
                     "whose outcome (or decision) is ledger entry SEQ")
    app.add_argument("--actor", help="who applies (default: the login name)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``recon``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except ReconError as exc:
        print(f"recon: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("recon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # python -m recon_helpers.cli (python -m recon_helpers works too)
    raise SystemExit(main())
