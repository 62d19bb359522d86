"""The same month reconciliation on DuckDB, for months that outgrow pandas in memory.

``recon.toml`` ``engine = "pandas" | "duckdb" | "auto"`` (default ``auto``: DuckDB when the
month's canonical delivered files, CSV or Parquet, hold more than ``[duckdb] auto_above_mb``,
1024 MB by default, or when one is Parquet, which only this engine reads). DuckDB is embedded
and works out of core: its tables live in memory and, with its operators, spill to disk
beyond ``[duckdb] memory_limit`` (4GB), under ``[duckdb] temp_directory`` (default: the
system's temporary folder).

One set of rules. DuckDB only does the steps that grow with the number of vendor lines, in
plain relational form: reading the canonical delivered CSV/Parquet, quarantining exact
duplicates, typing the values that have the plain canonical shape, weighting each line for
the month (proration.py's rules), joining the customer and product mappings, and grouping to
the client x product delivered figures, the unmapped groups and the coverage counts. Every
decision that carries a rule runs in the pandas code the pandas engine uses, on small inputs:

* values that are not plainly shaped (thousands separators, other date forms, blanks, ...)
  are parsed by the canonical loader itself, on just those rows;
* vendor customers get their key and client through ``customer_key``/``assign_clients`` on
  the distinct (vendor, id, name) combinations, SKUs their product through
  ``apply_product_map`` on the distinct (vendor, SKU) pairs;
* agreements, invoices and every other input file load through ``load_files``;
* ``three_way_from``, ``unmapped_from_groups``, ``find_discrepancies``, ``finding_sources``
  and the finishing run on key-sized tables.

A canonical file DuckDB cannot prove it reads as the csv module would (ragged rows, bad
quoting, another encoding, per-file options in recon.toml) is loaded by pandas instead.
``rec.month.delivered`` then holds the vendor lines behind the findings (their keys and the
unmapped lines), not the whole month; ``rec.coverage()`` counts every line.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from recon_helpers.connect.provenance import origins
from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DELIVERED, QTY_SCALE, conform_quarantine
from recon_helpers.core.workspace import Settings, Workspace
from recon_helpers.ingest.duckdb_read import (
    LINE_COLUMNS,
    ORD_RANK,
    DirectRead,
    direct_header,
    fetch,
    lit,
    read_direct,
)
from recon_helpers.ingest.duplicates import identical_files
from recon_helpers.ingest.inventory import copy_rows
from recon_helpers.ingest.load import LoadedPeriod, input_files, load_files, month_files
from recon_helpers.ingest.registry import LINKERS, formats_for
from recon_helpers.ingest.validation import LoadOptions
from recon_helpers.reconcile.discrepancies import (
    UNMAPPED_KEYS,
    find_discrepancies,
    unmapped_from_groups,
    unmapped_masks,
)
from recon_helpers.reconcile.expectations import missing_sources
from recon_helpers.reconcile.licences import LicenceInputs, licence_inputs
from recon_helpers.reconcile.mapping import (
    apply_product_map,
    assign_clients,
    check_used_rows,
    customer_key,
    known_clients,
    known_products,
    read_client_map,
    read_ignore_map,
    read_product_map,
)
from recon_helpers.reconcile.matching import KEY, MonthTables, promised_month, three_way_from
from recon_helpers.reconcile.proration import FULL_CYCLE_DAYS, RECURRING
from recon_helpers.reconcile.result import Reconciliation, assemble


def choose_engine(workspace: Workspace, period: Period, engine: str | None = None) -> str:
    """ "pandas" or "duckdb" for one month: ``engine`` (else recon.toml's); auto decides by size.

    Raises:
        UsageError: ``engine`` is not pandas, duckdb or auto.
    """
    if engine not in (None, "pandas", "duckdb", "auto"):
        raise UsageError(f"engine must be pandas, duckdb or auto, not {engine!r}")
    if engine in ("pandas", "duckdb"):
        return engine
    folder = workspace.inputs(period)
    if not folder.is_dir():
        return "pandas"  # load_period names the missing folder
    settings = workspace.settings()
    if (engine or settings.engine) != "auto":
        return settings.engine
    files, _ = input_files(folder)
    formats = formats_for(workspace)
    direct = [p for p in files if direct_header(p, settings, formats) is not None]
    if any(p.suffix.lower() == ".parquet" for p in direct):
        return "duckdb"  # the pandas loader reads no Parquet
    size = sum(p.stat().st_size for p in direct)
    return "duckdb" if size > settings.engine_auto_mb * 2**20 else "pandas"


def reconcile_duckdb(
    workspace: Workspace, period: Period, progress: Callable[[str], None] | None = None,
    licences: LicenceInputs | None = None,
) -> Reconciliation:
    """Load, map and match one month with DuckDB doing the line-sized work.

    Returns:
        Reconciliation (``engine == "duckdb"``) with the findings, three-way table and
        suggestions the pandas engine gives for the same inputs.

    Raises:
        UsageError, InputFileError, ConfigError: as
            :func:`recon_helpers.reconcile.run.reconcile_period`.
    """
    import duckdb

    files, ignored = month_files(workspace, period)
    settings = workspace.settings()
    opts = settings.raw.get("duckdb", {})
    tmp = Path(tempfile.mkdtemp(prefix="recon-duckdb-", dir=opts.get("temp_directory")))
    # in memory, not a database file: its tables are written to disk only when they outgrow
    # memory_limit (spilled to temp_directory), not on every CREATE TABLE (3x faster at 1M)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit = {lit(opts.get('memory_limit', '4GB'))}")
        con.execute(f"SET temp_directory = {lit(tmp / 'spill')}")
        con.execute("SET preserve_insertion_order = true")
        return _reconcile(con, workspace, settings, period, files, ignored, progress,
                          licences)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _reconcile(con, workspace, settings, period, listed, ignored, progress,  # type: ignore[no-untyped-def]
               licences=None) -> Reconciliation:
    formats = formats_for(workspace)
    # byte-identical copies are read once, whichever reader takes the file
    files, copies, digests = identical_files(listed)
    direct = {p: h for p in files if (h := direct_header(p, settings, formats)) is not None}
    con.execute(f"CREATE TABLE dl ({LINE_COLUMNS})")
    read = {}
    for rank, path in enumerate(files):
        if path in direct:
            if progress:
                progress(f"reading {path.name} (DuckDB)")
            read[path] = read_direct(con, path, *direct[path], settings, rank, digests[path])
    small = load_files(
        [p for p in files if read.get(p) is None], settings, period, ignored, progress, formats
    )
    _link(con, small, settings)
    ranks = {p.name: r for r, p in enumerate(files)}
    entity_files = set(small.inventory.loc[small.inventory["entity"].eq("delivered"), "file"])
    _add_frame(con, small.delivered, ranks, entity_files)
    if progress:
        lines = con.execute("SELECT count(*) FROM dl").fetchone()[0]
        progress(f"mapping and matching {lines:,} vendor lines (DuckDB)")
    loaded = _combine(small, {p: r for p, r in read.items() if r is not None},
                      {p.name: r for r, p in enumerate(listed)}, copies)
    clients = known_clients(loaded.clients, loaded.promised, loaded.billed)
    client_map = read_client_map(workspace.clients_map)
    ignore_map = read_ignore_map(workspace.ignore_map)
    customers = _customers(con, clients, client_map, ignore_map)
    product_map = read_product_map(workspace.products_map)
    _month_rows(con, product_map, period, settings)
    promised = promised_month(loaded.promised, period, settings)
    tw = three_way_from(
        _delivered_figures(con), promised, loaded.billed, loaded.catalogue, product_map, settings
    )
    found = find_discrepancies(tw, settings, has_invoices=not loaded.billed.empty)
    unmapped = unmapped_from_groups(_unmapped_groups(con))
    rows = _rows_behind(con, found)
    # the loaded rows behind the findings (a bundle SKU's row once, not once per product)
    loaded = replace(loaded, tables={
        **loaded.tables, "delivered": DELIVERED.conform(rows.drop_duplicates("source"))})
    month = MonthTables(delivered=rows, promised=promised, billed=loaded.billed)
    unmapped_rows = rows[unmapped_masks(rows)["unmapped_product"]]
    coverage = fetch(con, COVERAGE).set_index("vendor").sort_index()
    used = set(map(tuple, fetch(con, "SELECT DISTINCT lower(vendor) AS v, lower(vendor_sku) AS s "
                                     "FROM dl").itertuples(index=False, name=None)))
    check_used_rows(customers, clients, client_map, ignore_map, used, product_map,
                    known_products(loaded))
    return assemble(loaded, settings, clients, customers, month, tw, unmapped, unmapped_rows,
                    product_map, discrepancies=found, engine="duckdb", coverage_rows=coverage,
                    missing=missing_sources(workspace, period, loaded),
                    licence_inputs=licences or licence_inputs(workspace, period))


COVERAGE = """SELECT vendor, count(*) AS rows,
    count(*) FILTER (WHERE client_id <> '') AS rows_client_mapped,
    count(*) FILTER (WHERE product_id <> '') AS rows_product_mapped
    FROM month GROUP BY vendor"""


def _add_frame(con, frame: pd.DataFrame, ranks: dict[str, int], entity_files: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Append pandas-loaded delivered rows to ``dl``, ordered as load_period concatenates them:
    files in name order, then the rows linkers built from other entities."""
    if frame.empty:
        return
    file = frame["source"].str.rsplit(":", n=1).str[0]
    rank = file.map(lambda f: ranks[f] if f in entity_files else len(ranks)).to_numpy("int64")
    rows = frame.assign(file=file, row=pd.to_numeric(frame["source"].str.rsplit(":", n=1).str[1]),
                        ord=rank * ORD_RANK + np.arange(len(frame)))
    con.register("frame_in", rows)
    con.execute("INSERT INTO dl BY NAME SELECT * EXCLUDE (row), row::BIGINT AS row FROM frame_in")
    con.unregister("frame_in")


def _link(con, small: LoadedPeriod, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Run the linkers that fill in delivered rows (Pax8 company names and links) on the rows
    DuckDB read, exactly as load_period runs them on every delivered row."""
    settings_opts = LoadOptions(timezone=settings.timezone, currency=settings.currency)
    for linker in LINKERS:
        if not linker.consumes <= set(small.tables):
            continue
        # dl holds only the rows DuckDB read yet: the pandas-loaded ones are linked already
        mine = fetch(con, "SELECT * FROM dl WHERE lower(vendor) = ?", [linker.family])
        if mine.empty:
            continue
        result = linker.link({**small.tables, "delivered": mine}, settings_opts)
        out = result.tables.get("delivered")
        if out is None or "delivered" not in result.replace:
            continue
        con.register("linked", out[["file", "row", "vendor_customer_name", "client_link"]])
        con.execute("""UPDATE dl SET vendor_customer_name = l.vendor_customer_name,
            client_link = l.client_link FROM linked l WHERE dl.file = l.file AND dl.row = l.row""")
        con.unregister("linked")


def _combine(
    small: LoadedPeriod, read: dict[Path, DirectRead], ranks: dict[str, int],
    copies: dict[Path, Path],
) -> LoadedPeriod:
    """The pandas-loaded part plus the DuckDB-read files' inventory and quarantine rows, and
    the byte-identical copies not read."""
    inventory = pd.concat(
        [small.inventory, *[r.inventory for r in read.values()]], ignore_index=True
    )
    if copies:
        known = {r.file: (r.format, r.sha256) for r in inventory.itertuples(index=False)}
        extra = pd.DataFrame(copy_rows(copies, known))
        folder = next(iter(copies)).parent
        extra["origin"] = extra["file"].map(origins(folder, dict(zip(
            extra["file"], extra["sha256"], strict=True))))
        inventory = pd.concat([inventory, extra[list(inventory.columns)]], ignore_index=True)
    inventory = inventory.iloc[inventory["file"].map(ranks).argsort(kind="stable")]
    parts = [q for q in [small.quarantine, *[r.quarantine for r in read.values()]] if len(q)]
    quarantine = conform_quarantine(pd.concat(parts, ignore_index=True) if parts
                                    else small.quarantine)
    order = quarantine["file"].map(ranks).fillna(len(ranks)).argsort(kind="stable")
    duplicates = {**small.duplicates, **{c.name: o.name for c, o in copies.items()}}
    return LoadedPeriod(small.period, inventory.reset_index(drop=True), dict(small.tables),
                        quarantine.iloc[order].reset_index(drop=True), small.ignored, duplicates)


def _customers(con, clients: pd.DataFrame, client_map: pd.DataFrame,  # type: ignore[no-untyped-def]
               ignore_map: pd.DataFrame) -> pd.DataFrame:
    """map_customers() on the distinct vendor customers; registers ``custkeys`` for the join."""
    combos = fetch(
        con,
        """SELECT vendor, vendor_customer_id, vendor_customer_name, client_link,
        min(ord) AS ord FROM dl GROUP BY ALL ORDER BY ord""",
    )
    combos["cust_key"] = customer_key(combos)
    cust = combos.drop_duplicates("cust_key")[
        ["vendor", "vendor_customer_id", "vendor_customer_name", "client_link", "cust_key"]
    ]
    cust = assign_clients(cust.reset_index(drop=True), clients, client_map, ignore_map)
    keys = combos.drop_duplicates(["vendor", "vendor_customer_id", "vendor_customer_name"])
    keys = keys.merge(cust[["cust_key", "client_id", "client_method"]], on="cust_key")
    con.register(
        "custkeys_in",
        keys[
            [
                "vendor",
                "vendor_customer_id",
                "vendor_customer_name",
                "cust_key",
                "client_id",
                "client_method",
            ]
        ],
    )
    con.execute("CREATE TABLE custkeys AS SELECT * FROM custkeys_in")
    con.unregister("custkeys_in")
    return cust


def _month_rows(con, product_map: pd.DataFrame, period: Period, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """``month``: every delivered row with client, product (one row per product of a bundle),
    the month's weighted quantity ``wq`` and ``line_cost``, as delivered_month() builds them."""
    skus = fetch(con, "SELECT DISTINCT vendor, vendor_sku FROM dl")
    skus = apply_product_map(skus, product_map)
    ratios = [Decimal(u).as_integer_ratio() for u in skus["units_per_product"]]
    skus = skus.assign(upp_num=[n for n, _ in ratios], upp_den=[d for _, d in ratios])
    con.register(
        "skumap_in", skus[["vendor", "vendor_sku", "sku_key", "product_id", "upp_num", "upp_den"]]
    )
    con.execute("CREATE TABLE skumap AS SELECT * FROM skumap_in")
    con.unregister("skumap_in")
    first, last = (lit(d.isoformat()) + "::DATE" for d in (period.first, period.last))
    source = "(SELECT *, charge_start AS weigh_start FROM dl)"
    if settings.month_rule == "month_end":
        wq = f"""CASE WHEN (charge_start IS NULL OR charge_start <= {last})
            AND (charge_end IS NULL OR charge_end >= {last}) THEN quantity ELSE 0 END"""
    else:  # day_weighted: quantity x days in the month / month days, half away from zero
        # proration.weigh_from(): a subscription's first recurring full-cycle charge that
        # starts inside the month counts from the 1st
        kinds = ", ".join(lit(k) for k in sorted(RECURRING))
        norm = "regexp_replace(lower(coalesce(charge_type, '')), '[\\s_-]', '', 'g')"
        recurring = f"""(({norm} IN ({kinds}) OR {norm} LIKE 'recurring%')
            AND charge_start IS NOT NULL AND charge_end IS NOT NULL
            AND charge_end - charge_start + 1 >= {FULL_CYCLE_DAYS})"""
        earliest = f"""min(CASE WHEN {recurring} AND charge_end >= {first} THEN charge_start
            END) OVER (PARTITION BY vendor, vendor_customer_id, vendor_customer_name,
                       vendor_sku)"""
        source = f"""(SELECT *, CASE WHEN {recurring} AND charge_start > {first}
            AND charge_start <= {last} AND charge_start = {earliest} THEN {first}
            ELSE charge_start END AS weigh_start FROM dl)"""
        days = f"""greatest(least(coalesce(charge_end, {last}), {last})
            - greatest(coalesce(weigh_start, {first}), {first}) + 1, 0)"""
        month_days = f"({last} - {first} + 1)"
        wq = f"""sign(quantity) * ((abs(quantity)::HUGEINT * {days} * 2 + {month_days})
            // (2 * {month_days}))"""
    con.execute(f"""CREATE TABLE month AS
        SELECT *, CASE WHEN unit_cost IS NULL THEN NULL ELSE (sign(wq::HUGEINT * unit_cost)
            * ((abs(wq::HUGEINT * unit_cost) * 2 + {QTY_SCALE}) // (2 * {QTY_SCALE})))::BIGINT
            END AS line_cost
        FROM (SELECT dl.* EXCLUDE (weigh_start), k.cust_key, k.client_id, k.client_method,
                s.sku_key, s.product_id, s.upp_num, s.upp_den, ({wq})::BIGINT AS wq,
                CASE WHEN dl.vendor_customer_id <> '' THEN dl.vendor_customer_id
                     ELSE dl.vendor_customer_name END AS vendor_customer
              FROM {source} dl
              JOIN custkeys k USING (vendor, vendor_customer_id, vendor_customer_name)
              JOIN skumap s USING (vendor, vendor_sku))""")


def _delivered_figures(con) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """matching.delivered_figures() in SQL: one row per mapped client x product, sorted."""
    frame = fetch(
        con,
        """
        WITH sku AS (
            SELECT client_id, product_id, vendor, vendor_sku, sum(wq) AS wq,
                   any_value(upp_num) AS n, any_value(upp_den) AS d
            FROM month WHERE client_id <> '' AND product_id <> '' GROUP BY ALL),
        qty AS (
            SELECT client_id, product_id, sum(sign(wq * d) * ((abs(wq * d) * 2 + n) // (2 * n)))
                   ::BIGINT AS delivered_qty
            FROM sku GROUP BY ALL)
        SELECT q.delivered_qty, TRUE AS has_delivery, c.* FROM qty q JOIN (
            SELECT client_id, product_id,
                CASE WHEN count(line_cost) = count(*) THEN sum(line_cost)::BIGINT END
                    AS vendor_cost_total,
                CASE WHEN count(DISTINCT currency) = 1 THEN any_value(currency) ELSE '' END
                    AS vendor_cost_currency,
                string_agg(DISTINCT vendor, ';' ORDER BY vendor) FILTER (WHERE vendor <> '')
                    AS vendor,
                string_agg(DISTINCT vendor_customer, ';' ORDER BY vendor_customer)
                    FILTER (WHERE vendor_customer <> '') AS vendor_customer,
                string_agg(DISTINCT vendor_sku, ';' ORDER BY vendor_sku)
                    FILTER (WHERE vendor_sku <> '') AS vendor_sku
            FROM month WHERE client_id <> '' AND product_id <> '' GROUP BY ALL
        ) c USING (client_id, product_id)""",
        text_na=np.nan,
    )
    frame["vendor_cost_total"] = frame["vendor_cost_total"].astype("Int64")
    frame["has_delivery"] = frame["has_delivery"].astype(bool)
    frame = frame.sort_values(KEY).set_index(KEY)
    return frame[
        [
            "delivered_qty",
            "has_delivery",
            "vendor_cost_total",
            "vendor_cost_currency",
            "vendor",
            "vendor_customer",
            "vendor_sku",
        ]
    ]


def _unmapped_groups(con) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """discrepancies.unmapped_groups() in SQL."""
    out = {}
    for kind, where in (  # discrepancies.unmapped_masks()
        ("unmapped_customer", "client_id = '' AND client_method <> 'ignored'"),
        ("unmapped_product", "product_id = '' AND client_method <> 'ignored'"),
    ):
        keys = UNMAPPED_KEYS[kind]
        g = fetch(
            con,
            f"""SELECT {", ".join(keys)}, sum(wq)::BIGINT AS vq,
            sum(line_cost)::BIGINT AS cost, min(vendor_customer) AS vendor_customer,
            string_agg(DISTINCT vendor_sku, ';' ORDER BY vendor_sku) AS vendor_skus,
            CASE WHEN count(unit_cost) = count(*) AND count(DISTINCT unit_cost) = 1
                 THEN any_value(unit_cost) END AS unit_cost
            FROM month WHERE {where} GROUP BY ALL""",
        )
        if len(g):
            for col in ("cost", "unit_cost"):
                g[col] = g[col].astype("Int64")
            out[kind] = g.sort_values(keys).reset_index(drop=True)
    return out


def _rows_behind(con, found: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The month rows behind the findings (their client x product keys) and every unmapped
    row, in load order: what finding_sources and the suggestions read."""
    con.register(
        "keys_in",
        found[KEY].drop_duplicates()
        if len(found)
        else pd.DataFrame({k: pd.Series(dtype=object) for k in KEY}),
    )
    rows = fetch(
        con,
        """SELECT * EXCLUDE (file, row, ord) FROM (
            SELECT * FROM month WHERE client_id = '' OR product_id = ''
            UNION ALL
            SELECT m.* FROM month m SEMI JOIN keys_in k USING (client_id, product_id)
            WHERE m.client_id <> '' AND m.product_id <> '')
        ORDER BY ord""",
    )
    con.unregister("keys_in")
    rows["units_per_product"] = [
        Decimal(n) / Decimal(d)
        for n, d in zip(rows.pop("upp_num"), rows.pop("upp_den"), strict=True)
    ]
    for col in ("unit_cost", "line_cost"):
        rows[col] = rows[col].astype("Int64")
    rows["cust_key"] = rows["cust_key"].astype(customer_key(rows.iloc[:1]).dtype)
    # delivered_month()'s columns, in its order
    return rows[
        [
            *DELIVERED.names(),
            "cust_key",
            "client_id",
            "client_method",
            "sku_key",
            "product_id",
            "units_per_product",
            "wq",
            "line_cost",
            "vendor_customer",
        ]
    ]
