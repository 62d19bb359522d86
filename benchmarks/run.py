"""Benchmark at MSP and distributor scale: load, reconcile, memory, and a floor to compare with.

    python benchmarks/run.py [--sizes 100000,1000000] [--big] [--clients 1000]

For each size it writes (or reuses) a generated workspace (benchmarks/generate.py) and runs
every step in a fresh Python process, so each step's peak memory is its own (the peak
resident set, VmHWM, reset before the step):

* ``pandas``: load_period, then reconcile (the default engine below 1 GB of vendor lines);
* ``duckdb``: reconcile_period(engine="duckdb"), load included;
* ``floor``: what any implementation must at least do with pandas on the same data:
  ``pandas.read_csv(dtype=str)`` of the delivered and agreement CSVs, quantities to numbers
  (the floor's *read*), then a group-by of both on client x product (vendor lines mapped to
  them with one merge each for customers and SKUs) and their outer merge (the floor's *match*).
  Reconcile time is reported as a ratio to the match floor, load + reconcile to the whole floor;
* at ``--pc-lines`` (1M): loading the Partner Center NCE reconciliation CSV (load_file: read,
  detect, dedupe, parse) against a plain ``pandas.read_csv(dtype=str)`` of the same file;
* fuzzy client suggestions for ``--fuzzy`` (20,000) unmapped names against as many clients;
* ``report``: the monthly report (``render_period``: notebooks 01-05 with papermill, HTML,
  manifest) for ``--report-clients`` (500) clients, 400 delivered lines per client in each of
  two months (05 trends reconciles every month), against a baseline: papermill running as many
  trivial notebooks (the parameters cell and ``import recon_helpers``) on the same kernel.
  Peak memory is the step's own and the largest kernel's (the notebooks run in child processes).

``--big`` adds the 10-million-line month on the DuckDB engine. Results are printed and
written to ``<out>/results.json`` and ``<out>/results.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

PERIOD = "2026-10"
TARGETS = {
    "reconcile_ratio": 3.0,  # reconcile of 1M lines within 3x the floor
    "reconcile_mb": 2048,  # ... and under 2 GB
    "fuzzy_s": 5.0,
    "fuzzy_mb": 600,
    "pc_ratio": 2.0,
    "anchor_ratio": 2.0,  # the whole month (load included) within 2x of the anchor query
    "report_ratio": 2.0,  # the report within 2x of the trivial-notebook baseline
    "reopen_s": 2.0,  # notebook 03 reopened on an unchanged 1M-line month
    "report_s": 60.0,  # the monthly report for 500 clients
}
REPORT_LINES_PER_CLIENT = 400  # 200,000 lines for 500 clients (see README.md)
REPORT_MONTHS = 2


# ---- steps (each runs in its own process) ----------------------------------------------


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # Linux: "5" resets this process's peak RSS (VmHWM)
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb(pid: str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid != "self":  # gone, or a zombie
        return 0.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def _children_peak():  # type: ignore[no-untyped-def]
    """Poll the peak RSS (VmHWM) of this process's children, the notebook kernels: a dict of
    pid -> MB. (RUSAGE_CHILDREN's ru_maxrss would not do: a child started by fork or vfork and
    exec keeps the parent's high-water mark from before the exec.)"""
    import threading

    peaks: dict[str, float] = {}
    stop, me = threading.Event(), str(os.getpid())

    def poll() -> None:
        while not stop.wait(0.1):
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with contextlib.suppress(OSError, IndexError):
                    if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                        pid = stat.parent.name
                        peaks[pid] = max(peaks.get(pid, 0.0), _peak_mb(pid))

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


def _truth(ws: Path, findings) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many planted discrepancies the findings hold, and how many findings are not planted."""
    import pandas as pd

    truth = pd.read_csv(ws / "ground_truth.csv", dtype=str, keep_default_na=False)

    def keys(f: pd.DataFrame) -> set[tuple[str, ...]]:
        cust = f["vendor_customer"].where(f["kind"].eq("unmapped_customer"), "")
        sku = f["vendor_sku"].where(f["kind"].eq("unmapped_product"), "")
        return set(zip(f["kind"], f["client_id"], f["product_id"], cust, sku, strict=True))

    found, planted = keys(findings), keys(truth)
    return {"planted": len(planted), "found": len(planted & found), "extra": len(found - planted)}


def step_pandas(ws: Path) -> dict[str, object]:
    from recon_helpers.core.period import Period
    from recon_helpers.core.workspace import Workspace
    from recon_helpers.ingest.load import load_period
    from recon_helpers.reconcile.mapping import read_client_map, read_product_map
    from recon_helpers.reconcile.run import reconcile

    workspace = Workspace.open(ws)
    _reset_peak()
    t0 = time.perf_counter()
    loaded = load_period(workspace, Period.parse(PERIOD))
    t1 = time.perf_counter()
    load_mb = _peak_mb()
    _reset_peak()
    rec = reconcile(
        loaded,
        read_client_map(workspace.clients_map),
        read_product_map(workspace.products_map),
        workspace.settings(),
    )
    t2 = time.perf_counter()
    return {
        "load_s": t1 - t0,
        "reconcile_s": t2 - t1,
        "load_mb": load_mb,
        "reconcile_mb": _peak_mb(),
        "findings": len(rec.findings),
        **_truth(ws, rec.findings),
    }


def step_duckdb(ws: Path) -> dict[str, object]:
    from recon_helpers.core.period import Period
    from recon_helpers.core.workspace import Workspace
    from recon_helpers.reconcile.run import reconcile_period

    _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    rec = reconcile_period(Workspace.open(ws), Period.parse(PERIOD), engine="duckdb")
    return {
        "total_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "peak_mb": _peak_mb(),
        "findings": len(rec.findings),
        **_truth(ws, rec.findings),
    }


# The anchor: what an analyst writes in an afternoon with DuckDB on the same files. It reads
# the canonical CSVs, maps vendor customers by id and by exact name (mappings/clients.csv, then
# clients.csv names), SKUs by mappings/products.csv, groups to client x product and outer-joins
# delivered, promised and billed, flagging keys where the three quantities disagree. Exact
# DECIMAL sums, no day weighting, no quarantine, no sources, no suggestions: the cost floor a
# whole reconcile (load included) is measured against.
ANCHOR_SQL = """
WITH d AS (SELECT * FROM read_csv({delivered}, {opts})),
cmap AS (SELECT * FROM read_csv({cmap}, {opts})),
clients AS (SELECT * FROM read_csv({clients}, {opts})),
pmap AS (SELECT vendor, vendor_sku, product_id, units_per_product::DECIMAL(18, 6) AS upp
         FROM read_csv({pmap}, {opts})),
by_id AS (SELECT lower(vendor) AS vendor, vendor_customer_id, any_value(client_id) AS client_id
          FROM cmap WHERE coalesce(vendor_customer_id, '') <> '' GROUP BY ALL),
by_name AS (SELECT lower(vendor) AS vendor, lower(trim(vendor_customer_name)) AS name,
            any_value(client_id) AS client_id
            FROM cmap WHERE coalesce(vendor_customer_name, '') <> '' GROUP BY ALL),
exact AS (SELECT lower(trim(client_name)) AS name, any_value(client_id) AS client_id
          FROM clients GROUP BY ALL),
groups AS (SELECT lower(vendor) AS vendor, vendor_customer_id,
                  lower(trim(vendor_customer_name)) AS name, vendor_sku,
                  sum(quantity::DECIMAL(18, 4)) AS qty,
                  sum(quantity::DECIMAL(18, 4) * unit_cost::DECIMAL(18, 6)) AS cost
           FROM d GROUP BY ALL),
mapped AS (SELECT coalesce(i.client_id, n.client_id, e.client_id) AS client_id, p.product_id,
                  g.qty / p.upp AS qty, g.cost
           FROM groups g
           LEFT JOIN by_id i ON i.vendor = g.vendor AND i.vendor_customer_id = g.vendor_customer_id
           LEFT JOIN by_name n ON n.vendor = g.vendor AND n.name = g.name
           LEFT JOIN exact e ON e.name = g.name
           LEFT JOIN pmap p ON lower(p.vendor) = g.vendor AND p.vendor_sku = g.vendor_sku),
delivered AS (SELECT client_id, product_id, sum(qty) AS delivered, sum(cost) AS cost
              FROM mapped WHERE client_id IS NOT NULL AND product_id IS NOT NULL GROUP BY ALL),
promised AS (SELECT client_id, product_id, sum(quantity::DECIMAL(18, 4)) AS promised,
                    any_value(unit_price::DECIMAL(18, 6)) AS price
             FROM read_csv({promised}, {opts}) GROUP BY ALL),
billed AS (SELECT client_id, product_id, sum(quantity::DECIMAL(18, 4)) AS billed
           FROM read_csv({billed}, {opts}) GROUP BY ALL)
SELECT client_id, product_id, d.delivered, d.cost, p.promised, p.price, b.billed,
       (coalesce(d.delivered, 0) <> coalesce(p.promised, 0)
        OR coalesce(p.promised, 0) <> coalesce(b.billed, 0)) AS differs
FROM delivered d FULL JOIN promised p USING (client_id, product_id)
FULL JOIN billed b USING (client_id, product_id)
"""


def step_anchor(ws: Path) -> dict[str, object]:
    """The anchor query (ANCHOR_SQL) from the CSVs to the key-sized table, in DuckDB."""
    import duckdb

    month = ws / "inputs" / PERIOD

    def q(path: Path) -> str:
        return "'" + str(path).replace("'", "''") + "'"

    sql = ANCHOR_SQL.format(
        opts="header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"'",
        delivered=q(month / "delivered.csv"), promised=q(month / "promised.csv"),
        billed=q(month / "billed.csv"), clients=q(month / "clients.csv"),
        cmap=q(ws / "mappings" / "clients.csv"), pmap=q(ws / "mappings" / "products.csv"),
    )
    _reset_peak()
    t0 = time.perf_counter()
    con = duckdb.connect()
    keys, differ = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE differs) FROM ({sql})"
    ).fetchone()
    con.close()
    return {"s": time.perf_counter() - t0, "peak_mb": _peak_mb(), "keys": keys, "differ": differ}


def step_floor(ws: Path) -> dict[str, object]:
    import pandas as pd

    month = ws / "inputs" / PERIOD
    _reset_peak()
    t0 = time.perf_counter()
    d = pd.read_csv(month / "delivered.csv", dtype=str, keep_default_na=False)
    p = pd.read_csv(month / "promised.csv", dtype=str, keep_default_na=False)
    d["quantity"] = pd.to_numeric(d["quantity"])
    p["quantity"] = pd.to_numeric(p["quantity"])
    customers = pd.read_csv(ws / "customer_ids.csv", dtype=str, keep_default_na=False)
    products = pd.read_csv(ws / "mappings" / "products.csv", dtype=str, keep_default_na=False)
    t1 = time.perf_counter()
    # the least work: sum the lines per vendor customer x SKU, map those few groups to
    # client x product, sum again, and outer-merge with the agreement quantities
    vendor_keys = ["vendor", "vendor_customer_id", "vendor_sku"]
    per_vendor = d.groupby(vendor_keys, sort=False)["quantity"].sum().reset_index()
    keyed = per_vendor.merge(customers, on=["vendor", "vendor_customer_id"]).merge(
        products[["vendor", "vendor_sku", "product_id"]], on=["vendor", "vendor_sku"]
    )
    delivered = keyed.groupby(["client_id", "product_id"])["quantity"].sum()
    promised = p.groupby(["client_id", "product_id"])["quantity"].sum()
    both = pd.merge(
        delivered.rename("delivered"),
        promised.rename("promised"),
        left_index=True,
        right_index=True,
        how="outer",
    )
    t2 = time.perf_counter()
    # for comparison only: mapping every line first, then grouping (what a naive script does)
    lines = d.merge(customers, on=["vendor", "vendor_customer_id"]).merge(
        products[["vendor", "vendor_sku", "product_id"]], on=["vendor", "vendor_sku"]
    )
    lines.groupby(["client_id", "product_id"])["quantity"].sum()
    t3 = time.perf_counter()
    return {
        "read_s": t1 - t0,
        "match_s": t2 - t1,
        "match_lines_first_s": t3 - t2,
        "peak_mb": _peak_mb(),
        "keys": len(both),
    }


def step_pc_load(path: Path) -> dict[str, object]:
    from recon_helpers.ingest.load import load_file

    _reset_peak()
    t0 = time.perf_counter()
    fl = load_file(path)
    return {
        "s": time.perf_counter() - t0,
        "peak_mb": _peak_mb(),
        "rows": len(fl.frame),
        "quarantined": len(fl.quarantine),
    }


def step_pc_duckdb(path: Path) -> dict[str, object]:
    """DuckDB's own CSV reader on the Partner Center file: every column as text, into a table."""
    import duckdb

    _reset_peak()
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE pc AS SELECT * FROM read_csv(?, header = true, all_varchar = true, "
        "delim = ',', quote = '\"', escape = '\"')",
        [str(path)],
    )
    rows = con.execute("SELECT count(*) FROM pc").fetchone()[0]
    con.close()
    return {"s": time.perf_counter() - t0, "peak_mb": _peak_mb(), "rows": rows}


def step_pc_read_csv(path: Path) -> dict[str, object]:
    import pandas as pd

    _reset_peak()
    t0 = time.perf_counter()
    frame = pd.read_csv(path, dtype=str)
    return {"s": time.perf_counter() - t0, "peak_mb": _peak_mb(), "rows": len(frame)}


def fuzzy_inputs(n: int):  # type: ignore[no-untyped-def]
    """``n`` clients and ``n`` vendor names to match: case, suffix, typo, word order, strangers."""
    import random

    import pandas as pd
    from generate import make_clients

    from recon_helpers.reconcile.names import normalise_name

    rng = random.Random(11)
    clients = make_clients(n, rng)
    choices = pd.DataFrame(
        {"choice_id": [c.client_id for c in clients], "choice_name": [c.name for c in clients]}
    )
    choices["norm_name"] = choices["choice_name"].map(normalise_name)

    def variant(name: str) -> str:
        roll, words = rng.random(), name.split()
        if roll < 0.3:
            return name.upper() + rng.choice([" LLC", " Inc.", ", Ltd"])
        if roll < 0.6:
            i = rng.randrange(len(name) - 1)
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        if roll < 0.8:
            return " ".join(words[1:] + words[:1])
        return f"{words[0]} {rng.choice(['Holdings', 'Group', 'Services'])} {rng.randrange(1000)}"

    names = pd.Series([variant(c.name) for c in rng.sample(clients, n)])
    return names, choices


def step_fuzzy(n: int) -> dict[str, object]:
    from recon_helpers.reconcile.suggestions import suggest

    names, choices = fuzzy_inputs(n)
    base = _peak_mb()
    _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    ranked = suggest(names, choices)
    return {
        "s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "peak_mb": _peak_mb(),
        "base_mb": base,
        "suggestions": len(ranked),
    }


def _clear_cache(ws: Path) -> None:
    import shutil

    from recon_helpers.audit.cache import FOLDER

    shutil.rmtree(ws / FOLDER, ignore_errors=True)


@contextlib.contextmanager
def _cache_off(ws: Path, off: bool):  # type: ignore[no-untyped-def]
    """recon.toml with ``[cache] reconcile = false`` for the block (the report as before the
    stored reconciliation: every kernel reconciles the month again)."""
    config = ws / "recon.toml"
    before = config.read_bytes()
    if off:
        config.write_bytes(before + b"\n[cache]\nreconcile = false\n")
    try:
        yield
    finally:
        config.write_bytes(before)


def step_report(ws: Path, cache: bool = True) -> dict[str, object]:
    """render_period, from a cold store (every month reconciled once, then loaded by the
    kernels), or with the store turned off (``cache=False``: each kernel reconciles)."""
    from recon_helpers.core.period import Period
    from recon_helpers.core.workspace import Workspace
    from recon_helpers.render.report import MANIFEST, render_period

    _clear_cache(ws)
    _reset_peak()
    with _cache_off(ws, not cache), _children_peak() as kernels:
        t0 = time.perf_counter()
        folder = render_period(Workspace.open(ws, ws / "reports"), Period.parse(PERIOD),
                               progress=False)
        s = time.perf_counter() - t0
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return {
        "s": s,
        "peak_mb": _peak_mb(),
        "kernel_peak_mb": max(kernels.values(), default=None),
        "notebooks": {  # papermill run and HTML export, as manifest.json records them
            nb["notebook"][:2]: [nb["seconds"]["total"], nb["seconds"]["html_export"]]
            for nb in manifest["notebooks"]
        },
        "findings": manifest["summary"]["discrepancies"],
        "clients": manifest["summary"]["clients"],
    }


def step_report_baseline(ws: Path) -> dict[str, object]:
    """Papermill running as many notebooks as the report, each only its parameters cell and
    ``import recon_helpers``: the fixed kernel start-up and papermill cost."""
    import tempfile

    import nbformat

    from recon_helpers.core.period import Period
    from recon_helpers.core.workspace import Workspace
    from recon_helpers.render.notebook import execute, notebook_paths, parameters_for

    paths = notebook_paths()
    nb = nbformat.read(paths[0], as_version=4)
    nb.cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    nb.cells.append(nbformat.v4.new_code_cell("import recon_helpers"))
    parameters = parameters_for(Workspace.open(ws, ws / "reports"), Period.parse(PERIOD))
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial.ipynb"
        nbformat.write(nb, trivial)
        _reset_peak()
        with _children_peak() as kernels:
            t0 = time.perf_counter()
            for i in range(len(paths)):
                execute(trivial, Path(tmp) / f"out-{i}.ipynb", parameters, timeout=600)
            s = time.perf_counter() - t0
    return {
        "s": s,
        "peak_mb": _peak_mb(),
        "kernel_peak_mb": max(kernels.values(), default=None),
        "kernels": len(kernels),
        "notebooks": len(paths),
    }


def step_report_uncached(ws: Path) -> dict[str, object]:
    return step_report(ws, cache=False)


def step_cache_fill(ws: Path) -> dict[str, object]:
    """The notebook context's first reconcile of the month: reconcile and store it."""
    _clear_cache(ws)
    t0 = time.perf_counter()
    from recon_helpers.present.context import open_period

    rec = open_period(str(ws), "", PERIOD, []).reconcile()
    return {"s": time.perf_counter() - t0, "peak_mb": _peak_mb(), "findings": len(rec.findings)}


def step_reopen(ws: Path) -> dict[str, object]:
    """Notebook 03's context reopened on the unchanged month: imports, then open_period and
    reconcile() (the stored result: key, checks, Parquet), in a fresh process."""
    _reset_peak()
    t0 = time.perf_counter()
    from recon_helpers.present.context import open_period

    t1 = time.perf_counter()
    rec = open_period(str(ws), "", PERIOD, []).reconcile()
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "open_s": t2 - t1, "s": t2 - t0, "peak_mb": _peak_mb(),
            "findings": len(rec.findings), **_truth(ws, rec.findings)}


STEPS = {
    "report_uncached": step_report_uncached,
    "cache_fill": step_cache_fill,
    "reopen": step_reopen,
    "pandas": step_pandas,
    "duckdb": step_duckdb,
    "floor": step_floor,
    "anchor": step_anchor,
    "pc_duckdb": step_pc_duckdb,
    "pc_load": step_pc_load,
    "pc_read_csv": step_pc_read_csv,
    "report": step_report,
    "report_baseline": step_report_baseline,
}


def run_step(name: str, arg: str) -> dict[str, object]:
    """One step in a fresh interpreter; its JSON result (or the error it died with)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--step", name, "--arg", arg],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- orchestration --------------------------------------------------------------------------


def workspace(  # type: ignore[no-untyped-def]
    out: Path, lines: int, clients: int, partner_center: bool, log, name: str = "", months: int = 1
) -> Path:
    """The generated workspace for ``lines`` (written when missing or out of date)."""
    from generate import VERSION, generate

    ws = out / (name or f"ws-{lines}")
    manifest = ws / "manifest.json"
    if manifest.exists():
        have = json.loads(manifest.read_text())
        if (
            have.get("version") == VERSION
            and have.get("clients") == clients
            and have.get("lines") == lines
            and (have.get("partner_center") or not partner_center)
            and len(have.get("periods", [PERIOD])) == months
        ):
            return ws
    log(f"writing the {lines:,}-line workspace to {ws} ...")
    generate(
        ws, clients=clients, lines=lines, partner_center=partner_center, force=True, months=months
    )
    return ws


def _ratio(a: object, b: object) -> float | None:
    return (
        round(float(a) / float(b), 2)
        if isinstance(a, float) and isinstance(b, float) and b
        else None
    )


def measure_size(out: Path, lines: int, clients: int, pc: bool, engines: list[str], log) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Every step for one size; the row of the results."""
    ws = workspace(out, lines, clients, pc, log)
    row: dict[str, object] = {"lines": lines, "clients": clients}
    floor = run_step("floor", str(ws))
    row["floor"] = floor
    anchor = row["anchor"] = run_step("anchor", str(ws))
    for engine in engines:
        log(f"{lines:,} lines: {engine} ...")
        row[engine] = result = run_step(engine, str(ws))
        if "error" in result:
            continue
        if engine == "pandas":
            result["total_s"] = result["load_s"] + result["reconcile_s"]
            result["reconcile_vs_floor"] = _ratio(result["reconcile_s"], floor.get("match_s"))
            result["reconcile_vs_lines_first"] = _ratio(
                result["reconcile_s"], floor.get("match_lines_first_s")
            )
        result["lines_per_s"] = round(lines / result["total_s"])
        floor_total = (
            (floor.get("read_s", 0) + floor.get("match_s", 0)) if "error" not in floor else None
        )
        result["total_vs_floor"] = _ratio(result["total_s"], floor_total)
        result["total_vs_anchor"] = _ratio(result["total_s"], anchor.get("s"))
    if pc:
        csv_file = next((ws / "partner_center" / PERIOD).glob("*.csv"))
        log(f"{lines:,} lines: Partner Center CSV load vs pandas.read_csv ...")
        row["pc_load"] = run_step("pc_load", str(csv_file))
        row["pc_read_csv"] = run_step("pc_read_csv", str(csv_file))
        row["pc_duckdb"] = run_step("pc_duckdb", str(csv_file))
        row["pc_ratio"] = _ratio(row["pc_load"].get("s"), row["pc_read_csv"].get("s"))
        row["pc_duckdb_ratio"] = _ratio(row["pc_load"].get("s"), row["pc_duckdb"].get("s"))
    return row


def measure_report(out: Path, clients: int, log) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """The monthly report for ``clients`` and its papermill baseline, in the same run."""
    lines = REPORT_LINES_PER_CLIENT * clients
    ws = workspace(out, lines, clients, False, log, f"report-{clients}", REPORT_MONTHS)
    log(f"monthly report, {clients:,} clients: render_period, then the papermill baseline ...")
    render, base = run_step("report", str(ws)), run_step("report_baseline", str(ws))
    log("monthly report with the stored reconciliation turned off (as before it) ...")
    before = run_step("report_uncached", str(ws))
    return {
        "clients": clients,
        "lines": lines,
        "months": REPORT_MONTHS,
        "render": render,
        "baseline": base,
        "uncached": before,
        "ratio": _ratio(render.get("s"), base.get("s")),
        "uncached_ratio": _ratio(before.get("s"), base.get("s")),
    }


def measure_reopen(out: Path, lines: int, clients: int, log) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Notebook 03's context: the first reconcile (stored), then reopening it unchanged."""
    ws = workspace(out, lines, clients, False, log)
    log(f"{lines:,} lines: notebook context, first open then reopened ...")
    return {"lines": lines, "fill": run_step("cache_fill", str(ws)),
            "reopen": run_step("reopen", str(ws))}


def _f(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(results: dict) -> str:  # type: ignore[type-arg]
    """The results as the markdown tables README's Performance section shows."""
    env = results["environment"]
    out = [
        f"Measured {env['date']} on {env['cpus']} CPUs, {env['ram_gb']} GB RAM, Python "
        f"{env['python']}, pandas {env['pandas']}, DuckDB {env['duckdb']} (load average "
        f"{env['load_before']} before the run).",
        "",
        "| lines | anchor s (hand-written DuckDB query) | anchor peak MB | engine | whole "
        "reconcile s (load included) | whole / anchor | peak MB | findings (planted found, "
        "extra) |",
        "|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for row in results["sizes"]:
        a = row.get("anchor", {})
        for engine in ("pandas", "duckdb"):
            r = row.get(engine)
            if r is None:
                continue
            if "error" in r:
                out.append(f"| {row['lines']:,} | {_f(a.get('s'), 2)} | | {engine} "
                           f"| {r['error']} ||||")
                continue
            peak = max(r.get("load_mb", 0), r.get("reconcile_mb", 0), r.get("peak_mb", 0))
            out.append(
                f"| {row['lines']:,} | {_f(a.get('s'), 2)} | {_f(a.get('peak_mb'), 0)} "
                f"| {engine} | {_f(r['total_s'], 2)} | {_f(r.get('total_vs_anchor'), 2)} "
                f"| {_f(peak, 0)} | {r['findings']:,} ({r['found']:,}/{r['planted']:,}, "
                f"{r['extra']:,}) |"
            )
    out += [
        "",
        "| lines | engine | load s | reconcile s | total s | lines/s | peak MB load / reconcile "
        "| floor read s | floor match s (lines mapped first) | reconcile / match floor "
        "(lines first) | total / whole floor | findings (planted found, extra) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["sizes"]:
        floor = row["floor"]
        for engine in ("pandas", "duckdb"):
            r = row.get(engine)
            if r is None:
                continue
            if "error" in r:
                out.append(f"| {row['lines']:,} | {engine} | {r['error']} |||||||||")
                continue
            peak = (
                f"{_f(r['load_mb'], 0)} / {_f(r['reconcile_mb'], 0)}"
                if engine == "pandas"
                else _f(r["peak_mb"], 0)
            )
            out.append(
                f"| {row['lines']:,} | {engine} | {_f(r.get('load_s'))} "
                f"| {_f(r.get('reconcile_s'))} | {_f(r['total_s'])} | {_f(r['lines_per_s'])} "
                f"| {peak} | {_f(floor.get('read_s'), 2)} "
                f"| {_f(floor.get('match_s'), 2)} ({_f(floor.get('match_lines_first_s'), 2)}) "
                f"| {_f(r.get('reconcile_vs_floor'), 2)} "
                f"({_f(r.get('reconcile_vs_lines_first'), 2)}) "
                f"| {_f(r.get('total_vs_floor'), 2)} | {r['findings']:,} ({r['found']:,}/"
                f"{r['planted']:,}, {r['extra']:,}) |"
            )
    pc = [row for row in results["sizes"] if "pc_load" in row]
    if pc:
        out += [
            "",
            "| Partner Center NCE CSV | load_file s | DuckDB read_csv s | load_file / "
            "read_csv (DuckDB) | pandas.read_csv(dtype=str) s | load_file / pandas | peak MB "
            "load_file / DuckDB / pandas |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in pc:
            a, b, c = row["pc_load"], row["pc_read_csv"], row.get("pc_duckdb", {})
            out.append(
                f"| {row['lines']:,} lines | {_f(a.get('s'))} | {_f(c.get('s'))} "
                f"| {_f(row.get('pc_duckdb_ratio'), 2)} | {_f(b.get('s'))} "
                f"| {_f(row['pc_ratio'], 2)} | {_f(a.get('peak_mb'), 0)} / "
                f"{_f(c.get('peak_mb'), 0)} / {_f(b.get('peak_mb'), 0)} |"
            )
    fz = results.get("fuzzy")
    if fz:
        out += [
            "",
            "| fuzzy suggestions | s | CPU s (both cores) | peak MB (process before: base) "
            "| suggestions |",
            "|---|---:|---:|---:|---:|",
            f"| {fz['n']:,} names x {fz['n']:,} clients | {_f(fz.get('s'), 2)} "
            f"| {_f(fz.get('cpu_s'), 2)} "
            f"| {_f(fz.get('peak_mb'), 0)} ({_f(fz.get('base_mb'), 0)}) "
            f"| {_f(fz.get('suggestions'))} |",
        ]
    rp = results.get("report")
    if rp:
        r, b = rp["render"], rp["baseline"]
        per_nb = ", ".join(
            f"{nb}: {run:.1f} + {html:.1f}" for nb, (run, html) in r.get("notebooks", {}).items()
        )
        out += [
            "",
            "| monthly report | render s | baseline s (papermill, trivial notebooks) "
            "| render / baseline | peak MB: render / largest kernel (baseline kernel) "
            "| per notebook s (papermill + HTML export) | findings |",
            "|---|---:|---:|---:|---:|---|---:|",
            f"| {rp['clients']:,} clients, {rp['lines']:,} lines x {rp['months']} months "
            f"| {_f(r.get('s', r.get('error')))} | {_f(b.get('s', b.get('error')))} "
            f"| {_f(rp['ratio'], 2)} | {_f(r.get('peak_mb'), 0)} / "
            f"{_f(r.get('kernel_peak_mb'), 0)} ({_f(b.get('kernel_peak_mb'), 0)}) "
            f"| {per_nb or '-'} | {_f(r.get('findings'))} |",
        ]
        u = rp.get("uncached")
        if u:
            per_nb = ", ".join(f"{nb}: {run:.1f} + {html:.1f}"
                               for nb, (run, html) in u.get("notebooks", {}).items())
            out.append(
                f"| same, stored reconciliation off (before) | {_f(u.get('s', u.get('error')))} "
                f"| {_f(b.get('s', b.get('error')))} | {_f(rp.get('uncached_ratio'), 2)} "
                f"| {_f(u.get('peak_mb'), 0)} / {_f(u.get('kernel_peak_mb'), 0)} "
                f"| {per_nb or '-'} | {_f(u.get('findings'))} |")
    ro = results.get("reopen")
    if ro:
        f, r = ro["fill"], ro["reopen"]
        out += [
            "",
            "| notebook 03 context | first open s (reconcile + store) | reopened s: imports + "
            "open and load | reopened total s | peak MB reopened | findings (planted found, "
            "extra) |",
            "|---|---:|---:|---:|---:|---|",
            f"| {ro['lines']:,} lines, unchanged | {_f(f.get('s', f.get('error')), 2)} "
            f"| {_f(r.get('import_s'), 2)} + {_f(r.get('open_s'), 2)} "
            f"| {_f(r.get('s', r.get('error')), 2)} | {_f(r.get('peak_mb'), 0)} "
            f"| {_f(r.get('findings'))} ({_f(r.get('found'))}/{_f(r.get('planted'))}, "
            f"{_f(r.get('extra'))}) |",
        ]
    out += ["", "Targets:", ""] + [f"* {t}" for t in results["targets"]]
    return "\n".join(out) + "\n"


def verdicts(results: dict) -> list[str]:  # type: ignore[type-arg]
    """Each target with the measured figure and met / MISSED."""
    lines = []
    for row in results["sizes"]:
        for engine in ("pandas", "duckdb"):
            r = row.get(engine)
            if not r or "error" in r or r.get("total_vs_anchor") is None:
                continue
            judged = row["lines"] >= 1_000_000
            ok = r["total_vs_anchor"] <= TARGETS["anchor_ratio"]
            lines.append(
                f"whole month on {engine} at {row['lines']:,} lines within 2x of the anchor "
                f"query: {r['total_vs_anchor']}x ({r['total_s']:.2f} s vs "
                f"{row['anchor']['s']:.2f} s) - "
                + (("met" if ok else "MISSED") if judged else "(target: 1M and 10M)")
            )
            if r.get("found") != r.get("planted") or r.get("extra"):
                lines.append(
                    f"{engine} at {row['lines']:,} lines: {r['found']}/{r['planted']} planted "
                    f"found, {r['extra']} extra - WRONG"
                )
        r, big = row.get("pandas"), row["lines"] >= 5_000_000
        if row["lines"] == 1_000_000 and r and "error" not in r:
            ok = (r["reconcile_vs_floor"] or 99) <= TARGETS["reconcile_ratio"]
            lines.append(
                f"reconcile 1M lines within 3x the floor: {r['reconcile_vs_floor']}x the match "
                f"floor (lines grouped before mapping) - {'met' if ok else 'MISSED'}; "
                f"{r['reconcile_vs_lines_first']}x the floor that maps every line first; "
                f"load + reconcile {r['total_vs_floor']}x the whole floor (read + match)"
            )
            ok = r["reconcile_mb"] < TARGETS["reconcile_mb"]
            lines.append(
                f"reconcile 1M lines under 2 GB: {r['reconcile_mb']:,.0f} MB - "
                f"{'met' if ok else 'MISSED'}"
            )
        d = row.get("duckdb")
        if big and d:
            ok = "error" not in d
            lines.append(
                f"{row['lines']:,} lines on DuckDB without running out of memory: "
                + (
                    f"{d['total_s']:,.0f} s, peak {d['peak_mb']:,.0f} MB - met"
                    if ok
                    else f"{d['error']} - MISSED"
                )
            )
        if row.get("pc_duckdb_ratio") is not None:
            ok = row["pc_duckdb_ratio"] <= TARGETS["pc_ratio"]
            verdict = ("met" if ok else "MISSED") if row["lines"] == 1_000_000 else "(target: 1M)"
            lines.append(
                f"Partner Center CSV at {row['lines']:,} lines within 2x of DuckDB's read_csv: "
                f"{row['pc_duckdb_ratio']}x - {verdict}"
            )
        if "pc_ratio" in row:
            ok = (row["pc_ratio"] or 99) <= TARGETS["pc_ratio"]
            verdict = ("met" if ok else "MISSED") if row["lines"] == 1_000_000 else "(target: 1M)"
            lines.append(
                f"Partner Center CSV at {row['lines']:,} lines within 2x of read_csv: "
                f"{row['pc_ratio']}x - {verdict}"
            )
    fz = results.get("fuzzy")
    if fz and "error" not in fz:
        ok = fz["s"] < TARGETS["fuzzy_s"] and fz["peak_mb"] < TARGETS["fuzzy_mb"]
        verdict = ("met" if ok else "MISSED") if fz["n"] == 20_000 else "(target: 20,000)"
        lines.append(
            f"fuzzy {fz['n']:,} x {fz['n']:,} under 5 s and 600 MB: {fz['s']:.2f} s, "
            f"{fz['peak_mb']:,.0f} MB peak - {verdict}"
        )
    rp = results.get("report")
    if rp:
        r = rp["render"]
        ok = "error" not in r and r["s"] < TARGETS["report_s"]
        verdict = ("met" if ok else "MISSED") if rp["clients"] == 500 else "not judged"
        figure = (
            f"{r['s']:.1f} s, {rp['ratio']}x the papermill baseline"
            if "error" not in r
            else r["error"]
        )
        lines.append(
            f"monthly report for {rp['clients']:,} clients under 60 s: {verdict} ({figure})"
        )
        if rp.get("ratio") is not None:
            ok = rp["ratio"] <= TARGETS["report_ratio"]
            lines.append(
                f"monthly report within 2x of the trivial-notebook baseline: {rp['ratio']}x "
                f"({rp.get('uncached_ratio')}x with the stored reconciliation off) - "
                + (("met" if ok else "MISSED") if rp["clients"] == 500 else "not judged"))
    ro = results.get("reopen")
    if ro and "error" not in ro["reopen"]:
        r = ro["reopen"]
        ok = r["s"] < TARGETS["reopen_s"]
        lines.append(
            f"reopening notebook 03 on an unchanged {ro['lines']:,}-line month under 2 s: "
            f"{r['s']:.2f} s ({r['import_s']:.2f} s imports + {r['open_s']:.2f} s open and "
            f"load) - " + (("met" if ok else "MISSED") if ro["lines"] == 1_000_000
                           else "(target: 1M)"))
    return lines


def environment() -> dict[str, object]:
    import duckdb
    import pandas as pd

    ram = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        ram = int(Path("/proc/meminfo").read_text().split()[1]) // 2**20
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpus": os.cpu_count(),
        "ram_gb": ram,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "duckdb": duckdb.__version__,
        "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    """Command line; returns the results (also written to <out>/results.json and .md)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="delivered lines, comma-separated")
    ap.add_argument("--big", action="store_true", help="add 10,000,000 lines on the DuckDB engine")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument(
        "--pc-lines",
        type=int,
        default=1_000_000,
        help="size at which to compare the Partner Center CSV load (0: skip)",
    )
    ap.add_argument("--fuzzy", type=int, default=20_000, help="names x clients (0: skip)")
    ap.add_argument("--engines", default="pandas,duckdb")
    ap.add_argument(
        "--report-clients", type=int, default=500, help="clients of the monthly report (0: skip)"
    )
    ap.add_argument(
        "--reopen-lines", type=int, default=None,
        help="month size at which to time reopening notebook 03's context (default: 1M when "
        "among --sizes, else the largest size; 0: skip)",
    )
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--arg", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.step:  # a child process: one step, its JSON on stdout
        arg = int(args.arg) if args.step == "fuzzy" else Path(args.arg)
        func = step_fuzzy if args.step == "fuzzy" else STEPS[args.step]
        print(json.dumps(func(arg)))  # type: ignore[operator]
        return {}
    args.out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    sizes = [int(s) for s in args.sizes.split(",") if s]
    engines = [e for e in args.engines.split(",") if e]
    results: dict[str, object] = {"environment": environment(), "sizes": []}
    for lines in sizes:
        results["sizes"].append(
            measure_size(  # type: ignore[attr-defined]
                args.out, lines, args.clients, lines == args.pc_lines, engines, log
            )
        )
    if args.big:
        results["sizes"].append(
            measure_size(  # type: ignore[attr-defined]
                args.out, 10_000_000, args.clients, False, ["duckdb"], log
            )
        )
    if args.fuzzy:
        log(f"fuzzy suggestions {args.fuzzy:,} x {args.fuzzy:,} ...")
        results["fuzzy"] = {"n": args.fuzzy, **run_step("fuzzy", str(args.fuzzy))}
    reopen = args.reopen_lines
    if reopen is None:
        reopen = 1_000_000 if 1_000_000 in sizes else max(sizes, default=0)
    if reopen:
        results["reopen"] = measure_reopen(args.out, reopen, args.clients, log)
    if args.report_clients:
        results["report"] = measure_report(args.out, args.report_clients, log)
    results["targets"] = verdicts(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    table = markdown(results)
    (args.out / "results.md").write_text(table, encoding="utf-8")
    print(table)
    return results


if __name__ == "__main__":
    main()
