"""The ``recon`` command line (SPEC): demo, reconcile, report, signoff, verify, lab.

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

from recon_helpers.errors import ReconError, UsageError
from recon_helpers.workspace import Workspace, check_period


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.workspace, args.reports)


def _period(args: argparse.Namespace) -> str:
    return check_period(args.period)


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
    from recon_helpers.demo import write_demo

    root = Path(args.workspace)
    summary = write_demo(root, force=args.force)
    print(f"demo workspace written to {root}: {summary}")
    print(f"next: recon reconcile --workspace {root} --period {summary['latest_period']}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Load, map and match one month; print a summary; optionally write the findings."""
    from recon_helpers.reconcile import reconcile_period
    from recon_helpers.summary import impact_by_kind, top_clients

    ws, period = _workspace(args), _period(args)
    rec = reconcile_period(ws, period, progress=lambda name: print(f"  reading {name}", file=sys.stderr))
    inv = rec.loaded.inventory
    print(f"Inputs for {period} ({len(inv)} files):")
    print(_table(inv[["file", "format", "rows_read", "rows_used", "rows_quarantined"]]))
    if rec.loaded.ignored:
        print(f"  not read (hidden or lock files): {', '.join(rec.loaded.ignored)}")
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
    if args.out:
        from recon_helpers.exports import write_table
        from recon_helpers.summary import findings_for_export

        out = Path(args.out)
        write_table(findings_for_export(rec.findings), out)
        print(f"\nwrote {len(rec.findings)} discrepancies to {out}")
    return 1 if len(rec.findings) else 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render the month's notebooks into reports/<period>/ and print the paths."""
    from recon_helpers.report import MANIFEST, render_period

    ws, period = _workspace(args), _period(args)
    folder = render_period(ws, period, args.client_ids or (), timeout=args.timeout,
                           progress=not args.no_progress)
    for path in [*sorted(folder.glob("*.html")), folder / MANIFEST]:
        print(path)
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on notebooks/ with copies of the notebooks preset to a month.

    The copies go to notebooks/lab/<period>/ (rewritten on each run); papermill's prepare-only
    mode adds an ``injected-parameters`` cell holding the month, workspace and clients.
    """
    import os
    import shlex
    import subprocess

    import papermill as pm

    from recon_helpers import report

    ws = _workspace(args)
    period = _period(args) if args.period else (ws.periods() or [""])[-1]
    if not period:
        raise UsageError(f"no month with inputs in {ws.root}; give --period or add inputs")
    parameters = report.parameters_for(ws, period, args.client_ids or ())
    notebooks = report.notebook_paths()
    root = report.NOTEBOOKS_DIR
    folder = root / "lab" / period
    first = (folder / notebooks[0].name).relative_to(root).as_posix()
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
           f"--LabApp.default_url=/lab/tree/{first}"]
    cmd += ["--no-browser"] if args.no_browser else []
    cmd += [f"--port={args.port}"] if args.port else []
    cmd += ["--allow-root"] if os.name == "posix" and os.geteuid() == 0 else []  # containers
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        report.check_parameters(nb, parameters)
        pm.execute_notebook(str(nb), str(folder / nb.name), parameters=parameters,
                            prepare_only=True, kernel_name=report.KERNEL, progress_bar=False)
    print(f"notebooks preset to {period} in {folder}; starting JupyterLab (Ctrl-C to stop)")
    return subprocess.call(cmd)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``recon``."""
    parser = argparse.ArgumentParser(
        prog="recon", description="MSP billing reconciliation: vendors vs agreements vs invoices"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str, func, period: bool = True) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--workspace", default="data", help="workspace folder (default: data)")
        p.add_argument("--reports", default=None, help="reports folder (default: beside the workspace)")
        if period:
            p.add_argument("--period", required=True, help="month, YYYY-MM")
        p.set_defaults(func=func)
        return p

    demo = add("demo", "write the bundled demo workspace", cmd_demo, period=False)
    demo.add_argument("--force", action="store_true", help="replace an existing demo workspace")
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


_ = (Decimal, UsageError)
