"""The ``recon`` command line (SPEC): demo, pull, reconcile, map, report, signoff, verify, lab,
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


def _print_blockers(rec) -> None:  # type: ignore[no-untyped-def]
    """What the auditor must see before any figure: missing or stale sources, unmapped vendor
    customers with how many findings wait on them, held findings."""
    lines = rec.blockers().lines(rec.period)
    for line in lines:
        print(line)
    if lines:
        print()


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Load, map and match one month; print a summary; optionally write the findings."""
    from recon_helpers.reconcile.licences import parse_as_of
    from recon_helpers.reconcile.run import reconcile_period
    from recon_helpers.reconcile.summary import impact_by_kind, top_clients

    ws, period = _workspace(args), _period(args)
    rec = reconcile_period(
        ws, period, progress=lambda step: print(f"  {step}", file=sys.stderr),
        as_of=parse_as_of(args.as_of, "--as-of") if args.as_of else None,
    )
    _print_blockers(rec)
    inv = rec.loaded.inventory
    print(f"Inputs for {period} ({len(inv)} files):")
    print(_table(inv[["file", "format", "rows_read", "rows_used", "rows_quarantined",
                      "origin"]]))
    if rec.loaded.ignored:
        print(f"  not read (hidden or lock files, folders, the pull log): "
              f"{', '.join(rec.loaded.ignored)}")
    for name, note in rec.loaded.notes.items():  # date order read from a file, copies, ...
        print(f"  note: {name}: {note}")
    q = rec.loaded.quarantine
    print(f"\nQuarantined rows: {len(q)}")
    if len(q):
        print(_table(q.groupby(["file", "reason"]).size().rename("rows").reset_index()))
    print("\nMapping coverage:")
    print(_table(rec.coverage()))
    ignored = rec.blockers().ignored
    if len(ignored):
        print(f"\nIgnored vendor customers (mappings/ignore.csv): {len(ignored)}")
        print(_table(ignored))
    n_held = int(rec.findings["hold"].ne("").sum())
    print(f"\nDiscrepancies: {len(rec.findings)}")
    if n_held:
        print(f"  {n_held} held: they count in no total until what they wait on is settled")
    print(_table(impact_by_kind(rec.findings)))
    print("\nClients with the largest impact:")
    print(_table(top_clients(rec.findings, 10)))
    lic = rec.licences
    if lic is not None and len(lic.actions):
        from recon_helpers.reconcile.licences import todo

        due = todo(lic)
        print(f"\nMicrosoft licences as of {lic.as_of} (horizon {lic.horizon_days} days, act-by "
              f"dates in {lic.timezone}): {len(due)} to do, "
              f"{int(lic.actions['state'].eq('lost').sum())} windows lost")
        if len(due):
            print(_table(due[["act_by", "kind", "client_id", "vendor_sku", "seats", "impact",
                              "currency"]]))
    from recon_helpers.audit.status import mark_findings

    marked = mark_findings(rec.findings, ws, period)  # decisions from the ledger, if any
    counts = marked["status"].value_counts()
    n_open, n_held = int(counts.get("open", 0)), int(counts.get("held", 0))
    held = f"{n_held} held (waiting on the inputs above), " if n_held else ""
    written = counts.reindex(["applied", "conflict", "failed"])
    back = ", ".join(f"{int(n)} {s}" for s, n in written.items() if n > 0)
    n_failed = int(counts.get("conflict", 0)) + int(counts.get("failed", 0))
    print(f"\nResolution: {n_open} open, {held}{len(marked) - n_open - n_held} resolved "
          f"{f'({back} in the PSA) ' if back else ''}(decisions in {ws.ledger_path})")
    if args.out:
        from recon_helpers.core.exports import write_table
        from recon_helpers.reconcile.summary import findings_for_export

        out = Path(args.out)
        write_table(findings_for_export(marked), out)
        print(f"\nwrote {len(rec.findings)} discrepancies to {out}")
    return 1 if n_open or n_held or n_failed else 0


def _actor(args: argparse.Namespace) -> str:
    """Who records a change: --actor, else $RECON_ACTOR, else the login name."""
    import getpass
    import os

    try:
        return (getattr(args, "actor", None) or os.environ.get("RECON_ACTOR")
                or getpass.getuser())
    except OSError as exc:  # no login name (some containers)
        raise UsageError("say who records the change: --actor NAME") from exc


def _money(value: object, currency: str) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,f} {currency}"


def _print_unmapped(rec) -> int:  # type: ignore[no-untyped-def]
    """The month's unmapped vendor customers and SKUs, one line each with what they delivered,
    what waits on them and the suggestions with scores; returns how many there are."""
    from recon_helpers.reconcile.holds import waiting_on

    f, period = rec.findings, rec.period
    cust = rec.customers[rec.customers["client_method"].isin(["", "ambiguous"])]
    print(f"Unmapped vendor customers in {period}: {len(cust)}")
    sugg = rec.client_suggestions
    for c in cust.itertuples(index=False):
        ident = c.vendor_customer_id or c.vendor_customer_name
        mine = f[f["kind"].eq("unmapped_customer") & f["vendor"].eq(c.vendor)
                 & f["vendor_customer"].eq(ident)]
        note = waiting_on(c.vendor, c.vendor_customer_id, c.vendor_customer_name)
        waiting = int(f["detail"].str.contains(note, regex=False).sum())
        cost = "; ".join(filter(None, (_money(v, cur) for v, cur in
                                       zip(mine["impact"], mine["currency"], strict=True))))
        name = f" {c.vendor_customer_name!r}" if c.vendor_customer_id else ""
        top = sugg[sugg["vendor"].eq(c.vendor) & sugg["vendor_customer_id"].eq(
            c.vendor_customer_id) & sugg["vendor_customer_name"].eq(c.vendor_customer_name)
                   ].sort_values("rank").head(3)
        shown = "; ".join(f"{n} ({i}, score {sc})" for i, n, sc in
                          zip(top["client_id"], top["client_name"], top["score"], strict=True))
        print(f"  {c.vendor}:{ident}{name}"
              + (" (name matches several clients)" if c.client_method == "ambiguous" else "")
              + f": {sum(mine['vendor_qty'].fillna(0))} units"
              + (f", cost at risk {cost}" if cost else "")
              + f", {waiting} held findings wait on it"
              + (f"; suggestions: {shown}" if shown else "; no suggestion"))
        if len(top):
            print(f"      recon map --period {period} --accept "
                  f"{c.vendor}:{ident}={top.iloc[0]['client_id']}")
    skus = f[f["kind"].eq("unmapped_product")]
    print(f"\nUnmapped vendor SKUs in {period}: {len(skus)}")
    ps = rec.product_suggestions
    for u in skus.itertuples(index=False):
        top = ps[ps["vendor"].eq(u.vendor) & ps["vendor_sku"].eq(u.vendor_sku)
                 ].sort_values("rank").head(3)
        shown = "; ".join(f"{d} ({i}, score {sc})" for i, d, sc in
                          zip(top["product_id"], top["description"], top["score"], strict=True))
        cost = _money(u.impact, u.currency)
        print(f"  {u.vendor}:{u.vendor_sku}: {u.vendor_qty} units"
              + (f", cost at risk {cost}" if cost else "")
              + (f"; suggestions: {shown}" if shown else "; no suggestion"))
        if len(top):
            print(f"      recon map --period {period} --accept "
                  f"{u.vendor}:{u.vendor_sku}={top.iloc[0]['product_id']}")
    return len(cust) + len(skus)


def cmd_map(args: argparse.Namespace) -> int:
    """List the month's unmapped vendor customers and SKUs; confirm or ignore them."""
    from recon_helpers.audit import mapping_changes as mc
    from recon_helpers.reconcile.run import reconcile_period

    ws, period = _workspace(args), _period(args)
    if args.reason and not args.ignores:
        raise UsageError("--reason goes with --ignore VENDOR:ID")
    if args.ignores and not (args.reason or "").strip():
        raise UsageError("--ignore needs --reason TEXT (e.g. 'internal tenant')")
    rec = reconcile_period(ws, period)
    changes: list[tuple[str, str, str, str]] = []  # (vendor, ident, target, what)
    for text in args.accepts or ():
        changes.append((*mc.parse_pair(text), "accept"))
    if args.accept_above is not None:
        if not 0 < args.accept_above <= 100:
            raise UsageError(f"--accept-above {args.accept_above}: give a score from 1 to 100")
        for s in mc.confident_suggestions(rec, args.accept_above).itertuples(index=False):
            changes.append((s.vendor, s.vendor_customer_id or s.vendor_customer_name,
                            s.client_id, f"accept (score {s.score})"))
    for text in args.ignores or ():
        vendor, colon, ident = text.partition(":")
        if not (colon and vendor.strip() and ident.strip()):
            raise UsageError(f"--ignore {text!r}: give VENDOR:ID, e.g. microsoft:9f3c2a71-...")
        changes.append((vendor.strip().lower(), ident.strip(), "", "ignore"))
    if not changes:
        return 1 if _print_unmapped(rec) else 0
    actor = _actor(args)
    for vendor, ident, target, what in changes:
        if what == "ignore":
            entry = mc.ignore(ws, rec, vendor, ident, args.reason, actor)
            done = f"ignored {vendor}:{ident} ({args.reason.strip()}) in {ws.ignore_map}"
        else:
            kind, entry = mc.accept(ws, rec, vendor, ident, target, actor)
            where = ws.clients_map if kind == "client" else ws.products_map
            done = f"mapped {vendor}:{ident} to {kind} {target} in {where} ({what})"
        print(done if entry else f"{vendor}:{ident}: already so ({what}), nothing written")
    if args.accept_above is not None and not any(w.startswith("accept (") for *_, w in changes):
        print(f"no suggestion scores {args.accept_above} or more without a tie")
    print(f"recorded by {actor} in {ws.ledger_path}; `recon map --period {period}` lists what "
          "is left")
    return 0


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
    if args.reopen:
        from recon_helpers.audit.signoff import reopen

        if reopen(ws, period, args.reopen, _actor(args)):
            print(f"{period} reopened: {args.reopen} (the preparer and reviewer sign the new "
                  "rendering)", file=sys.stderr)
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
    from recon_helpers.audit.signoff import record_issued
    from recon_helpers.render.statements import render_statement

    ws, period = _workspace(args), _period(args)
    for client_id in dict.fromkeys(args.client_ids):
        page = render_statement(ws, period, client_id, timeout=args.timeout)
        # after a sign-off the statement is recorded as issued, outside what the seal covers
        if record_issued(ws, period, [page, page.with_suffix(".ipynb")], _actor(args)):
            print(f"  recorded as issued after the sign-off of {period} (recon verify "
                  "checks it against the ledger)", file=sys.stderr)
        print(page)
    return 0


def cmd_signoff(args: argparse.Namespace) -> int:
    """Seal the month's rendered report as preparer or reviewer (exit 2 when refused)."""
    from recon_helpers.audit.signoff import GROUPS, SEAL_FILE, SEAL_PAGE, seal
    from recon_helpers.present.signoff import write_signed_copy, write_signoff_page

    ws, period = _workspace(args), _period(args)
    if args.role == "preparer":
        print(f"checking that {period} is ready to sign ...", file=sys.stderr)
    document = seal(ws, period, args.role, args.name, waive=args.waive)
    write_signoff_page(ws, period)
    copy = write_signed_copy(ws, period)
    sealed = document["seal"]
    print(f"{period} signed by {args.role} {sealed['name']}: ledger entry seq {sealed['seq']}, "
          f"status now {document['status']}")
    for waiver in document["waivers"]:
        print(f"  signed over {waiver['items']} waived item(s) ({waiver['summary']}): "
              f"{waiver['reason']} (ledger entry seq {waiver['seq']})")
    if args.waive and not document["waivers"]:
        print("  nothing was unsettled: no waiver recorded")
    print(f"  seal hash: {sealed['hash']} (keep a copy outside the workspace; "
          "recon verify --seal <hash> checks the ledger still holds it)")
    for group in GROUPS:
        print(f"  {group}: {len(sealed.get(group) or {})} file(s) sealed")
    print(f"  ledger head at the seal: {sealed['ledger_head']}")
    folder = ws.report_dir(period)
    print(f"wrote {folder / SEAL_FILE} and {folder / SEAL_PAGE}"
          + (f", and the signed report {copy}" if copy else ""))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Recompute the month's seal; exit 0 when intact, 1 naming every change."""
    from recon_helpers.audit.signoff import not_signed, status, verify
    from recon_helpers.present.signoff import check_signed_copy

    ws, period = _workspace(args), _period(args)
    problems = verify(ws, period, args.seals or ())
    if problems == [not_signed(period)]:
        print(f"{period}: not signed (no sign-off recorded in the ledger): nothing to verify; "
              f"render the report and sign it with recon signoff --period {period}")
        return 1
    problems += check_signed_copy(ws, period)
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
    from recon_helpers.present.signoff import write_signed_copy, write_signoff_page

    if (ws.report_dir(period) / SEAL_FILE).is_file():
        write_signoff_page(ws, period)
        write_signed_copy(ws, period)  # a reopened month has no signed report


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
    mp = add("map", "list the month's unmapped vendor customers and SKUs with suggestions; "
             "confirm (--accept) or ignore (--ignore) them", cmd_map)
    mp.add_argument("--accept", dest="accepts", action="append", metavar="VENDOR:ID=TARGET",
                    help="map a vendor customer to a client (or a vendor SKU to a product); "
                         "repeatable")
    mp.add_argument("--accept-above", type=int, metavar="SCORE",
                    help="accept every best suggestion scoring SCORE or more (ties excepted)")
    mp.add_argument("--ignore", dest="ignores", action="append", metavar="VENDOR:ID",
                    help="list a vendor customer in mappings/ignore.csv (not billed); "
                         "repeatable, needs --reason")
    mp.add_argument("--reason", help="why the ignored customers are not billed")
    mp.add_argument("--actor", help="who records the change (default: $RECON_ACTOR, else "
                                    "your login name)")
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
    rec.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                     help="'today' of the Microsoft licence rules (reduction windows, renewals); "
                     "default the period's last day")
    rep = add("report", "render the month's notebooks into reports/<period>/ (.ipynb, .html, "
              "manifest.json)", cmd_report)
    rep.add_argument("--client", dest="client_ids", action="append", metavar="ID",
                     help="PSA client id in scope (repeatable; default: all clients)")
    rep.add_argument("--timeout", type=int, default=600, help="seconds a cell may run (600)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep.add_argument("--reopen", metavar="REASON", help="re-render a prepared or signed month "
                     "on purpose: records a reopen entry; the month is signed again after")
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
    sign.add_argument("--waive", metavar="REASON",
                      help="preparer only: sign over what is still open, held, unmapped, "
                           "missing or quarantined, recording each item as waived with REASON")
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
