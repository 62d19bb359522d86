"""Read canonical delivered CSV/Parquet files straight into DuckDB, exactly as the loader would.

Part of the DuckDB engine (engine_duckdb.py). DuckDB's strict CSV reader takes the file only
when it parses it as the csv module would; else (ragged rows, bad quoting, not UTF-8, a field
over the csv module's limit) the caller loads the file with pandas. Rows are numbered as the
pandas reader numbers them (all-blank records dropped), exact repeats are quarantined as
validation.drop_duplicates does, and values are typed in SQL only where they have the plain
canonical shape (``12``, ``-3.5``, ``2026-10-31``, text without surrounding blanks); every
other row goes through the canonical loader's own ``parse`` on just those rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recon_helpers.connect.provenance import origins
from recon_helpers.core.files import sha256_file
from recon_helpers.core.schemas import DELIVERED, QuarantineReason, conform_quarantine
from recon_helpers.core.workspace import Settings
from recon_helpers.ingest.load import options_for
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.loaders.canonical import DELIVERED_FIELDS
from recon_helpers.ingest.quarantine_share import FileReading, check_share, quarantine_limit
from recon_helpers.ingest.raw import RawTable, check_header
from recon_helpers.ingest.readers import file_kind, sniff_delimiter
from recon_helpers.ingest.registry import FORMATS, detect_format, format_named
from recon_helpers.ingest.validation import Field, convert

FORMAT = "canonical_delivered"
# the characters str.isspace() (and so str.strip()) knows, as an RE2 class body
_WS = (
    r"\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}"
)
EDGE_SPACE = f"^[{_WS}]|[{_WS}]$"  # what str.strip() would remove
BLANK = f"[{_WS}]*"
MANGLED = r"^-?\p{Nd}(?:[.,]\p{Nd}+)?[eE]\+?\p{Nd}+$"  # parsing._MANGLED_ID
ASCII = r"[\x{20}-\x{7e}]*"
ORD_RANK = 2**40  # row order across files: file rank x 2**40 + position


def direct_header(
    path: Path, settings: Settings, formats: tuple[SourceFormat, ...] = FORMATS
) -> tuple[list[str], str] | None:
    """(header, delimiter) of a canonical delivered file DuckDB may read itself, else None.

    CSV: UTF-8, the header on the first line, no recon.toml options but ``format``. Parquet:
    any (its columns are read as text). ``formats``: the month's formats (a workspace profile
    that also fits the header makes detection, and so the pandas loader, report it).
    """
    entry = settings.files.get(path.name, {})
    if set(entry) - {"format"} or entry.get("format", FORMAT) != FORMAT:
        return None
    if path.suffix.lower() == ".parquet":
        import duckdb

        names = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({lit(path)})").fetchall()
        header = [str(n[0]) for n in names]
        delim = ""
    else:
        if file_kind(path) != "csv":
            return None
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
        head = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        line = head.split(b"\n", 1)[0]
        if len(line) == len(head) or b"\x00" in head[:4096]:
            return None
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return None
        delim = sniff_delimiter(text)
        record = next(csv.reader(io.StringIO(text.rstrip("\r"), newline=""), delimiter=delim), [])
        if text.count('"') % 2 or not any(v.strip() for v in record):
            return None
        header = [h.strip().lstrip("\ufeff") for h in record]
    if "format" not in entry:
        raw = RawTable(path, "csv", pd.DataFrame(columns=header), pd.Series(dtype="int64"), 0)
        try:
            if detect_format(raw, formats).name != FORMAT:
                return None
        except Exception:  # not recognised: the pandas loader reports it
            return None
    return header, delim


def lit(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fetch(con, sql: str, params: list[object] | None = None, text_na: object = "") -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """A query result as pandas with the canonical dtypes: object text (NULL -> ``text_na``),
    int64 / nullable Int64 integers, datetime64[ns] dates."""
    arrays = con.execute(sql, params or []).fetchnumpy()
    out = {}
    for name, arr in arrays.items():
        mask = np.ma.getmaskarray(arr)
        data = np.ma.getdata(arr)
        if data.dtype.kind in "iu":
            out[name] = pd.array(data.astype("int64"), dtype="Int64")
            if mask.any():
                out[name][mask] = pd.NA
            else:
                out[name] = data.astype("int64")
        elif data.dtype.kind == "M":
            out[name] = pd.Series(data, dtype="datetime64[ns]").where(~mask, pd.NaT)
        elif data.dtype.kind == "b":
            out[name] = data
        else:
            values = data.astype(object)
            values[mask] = text_na
            out[name] = pd.Series(values, dtype=object)  # pandas 3 would infer "str"
    return pd.DataFrame(out)


LINE_COLUMNS = """vendor VARCHAR, vendor_customer_id VARCHAR, vendor_customer_name VARCHAR,
    vendor_sku VARCHAR, sku_name VARCHAR, quantity BIGINT, unit_cost BIGINT, currency VARCHAR,
    charge_start DATE, charge_end DATE, client_link VARCHAR, charge_type VARCHAR,
    source VARCHAR, file VARCHAR, row BIGINT, ord BIGINT"""
_TYPED = tuple(f.target for f in DELIVERED_FIELDS)  # the typed columns, in order
_INSERT = """INSERT INTO dl SELECT vendor, vendor_customer_id, vendor_customer_name, vendor_sku,
    sku_name, quantity, unit_cost, currency, charge_start::DATE, charge_end::DATE, client_link,
    charge_type, source, file, row, ord FROM {}"""
# amounts.credit_signs on the SQL-typed rows: a negative quantity or cost is a credit, stored as
# a negative quantity at a non-negative cost (canonical files carry no line amount)
_SIGNED = {
    "quantity": "CASE WHEN quantity < 0 OR coalesce(unit_cost, 0) < 0 THEN -abs(quantity) "
                "ELSE quantity END",
    "unit_cost": "abs(unit_cost)",
}


@dataclass
class DirectRead:
    """A file DuckDB read into ``dl``: its inventory row and quarantined rows."""

    inventory: pd.DataFrame
    quarantine: pd.DataFrame


def _field_sql(f: Field, col: str | None) -> tuple[str, str]:
    """(value, fast) SQL of one canonical field: ``fast`` holds only where the text has the
    plain shape whose value the pandas parser would give exactly as ``value`` does."""
    v = f"coalesce({col}, '')" if col else lit(f.default)
    optional = "FALSE" if f.required else f"{v} = ''"
    if f.kind in ("id", "text"):
        fast = f"NOT regexp_matches({v}, {lit(EDGE_SPACE)})"
        if f.kind == "id":
            fast += f" AND NOT regexp_matches({v}, {lit(MANGLED)})"
        return v, fast + (f" AND {v} <> ''" if f.required else "")
    if f.kind in ("quantity", "money"):
        whole, places = (14, 4) if f.kind == "quantity" else (12, 6)
        shape = lit(f"-?[0-9]{{1,{whole}}}(\\.[0-9]{{1,{places}}})?")
        body = f"ltrim({v}, '-')"
        magnitude = (
            f"(split_part({body}, '.', 1)::BIGINT * {10**places}"
            f" + rpad(split_part({body}, '.', 2), {places}, '0')::BIGINT)"
        )
        value = (
            f"CASE WHEN NOT regexp_full_match({v}, {shape}) THEN NULL WHEN {v}[1] = '-'"
            f" THEN -{magnitude} ELSE {magnitude} END"
        )
        return value, f"({optional} OR regexp_full_match({v}, {shape}))"
    if f.kind == "date" and f.date_format == "iso":
        shape = lit("(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}")
        value = f"try_strptime({v}, '%Y-%m-%d')::DATE"
        return value, f"({optional} OR (regexp_full_match({v}, {shape}) AND {value} IS NOT NULL))"
    return "NULL", "FALSE"  # anything else: the pandas parser


def read_direct(
    con,
    path: Path,
    header: list[str],
    delim: str,
    settings: Settings,  # type: ignore[no-untyped-def]
    rank: int,
    sha256: str | None = None,
) -> DirectRead | None:
    """Read one canonical delivered file into ``dl``; None when pandas must read it instead.

    Raises:
        InputFileError: as the pandas loader would (bad header, missing required column, more
            of its rows quarantined than ``[quarantine]`` allows).
    """
    import duckdb

    check_header(path, header)
    _, opts = options_for(settings, path.name)
    empty = RawTable(
        path,
        "csv",
        pd.DataFrame({h: pd.Series(dtype=object) for h in header}),
        pd.Series(dtype="int64"),
        0,
    )
    convert(empty, DELIVERED_FIELDS, opts)  # raises for a missing required column
    cols = [f"c{i}" for i in range(len(header))]
    parquet = path.suffix.lower() == ".parquet"
    if parquet:
        casts = ", ".join(
            f"CAST({_ident(h)} AS VARCHAR) AS {c}" for h, c in zip(header, cols, strict=True)
        )
        source = (
            f"SELECT file_row_number + 1 AS pos, {casts} "
            f"FROM read_parquet({lit(path)}, file_row_number = true)"
        )
    else:
        spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
        source = (
            f"SELECT * FROM read_csv({lit(path)}, header = true, "
            f"columns = {spec}, delim = {lit(delim)}, quote = '\"', escape = '\"', "
            "auto_detect = false, strict_mode = true, null_padding = false)"
        )
    raw, rec, typed = f"raw{rank}", f"rec{rank}", f"typed{rank}"
    text = ", ".join(f"coalesce({c}, '') AS {c}" for c in cols)
    try:
        con.execute(
            f"CREATE TABLE {raw} AS SELECT {'pos, ' if parquet else ''}{text} FROM ({source})"
        )
    except duckdb.Error:  # ragged rows, bad quoting, not UTF-8, ...: the csv module decides
        con.execute(f"DROP TABLE IF EXISTS {raw}")
        return None
    blank = " AND ".join(f"regexp_full_match({c}, {lit(BLANK)})" for c in cols)
    longest, n_blank = con.execute(
        f"SELECT max(greatest({', '.join(f'length({c})' for c in cols)})), "
        f"count(*) FILTER (WHERE {blank}) FROM {raw}"
    ).fetchone()
    if not parquet and (longest or 0) >= csv.field_size_limit() - 8:
        con.execute(f"DROP TABLE {raw}")
        return None  # the csv module refuses such a field
    # rows are numbered as the csv module numbers records: all-blank ones do not count
    if parquet or not n_blank:
        row = "pos" if parquet else "rowid + 1"
        con.execute(
            f"CREATE VIEW {rec} AS SELECT {row} AS row, {', '.join(cols)} FROM {raw}"
            + (f" WHERE NOT ({blank})" if n_blank else "")
        )
    else:
        con.execute(f"""CREATE TABLE {rec} AS SELECT row_number() OVER (ORDER BY rowid) AS row,
            {", ".join(cols)} FROM {raw} WHERE NOT ({blank})""")
    name = path.name
    col_list = ", ".join(cols)
    dups = fetch(
        con,
        f"""SELECT r.row, left(concat_ws(',', {", ".join("r." + c for c in cols)}),
        200) AS value FROM {rec} r JOIN (SELECT {col_list}, min(row) AS first FROM {rec}
        GROUP BY ALL HAVING count(*) > 1) g USING ({col_list}) WHERE r.row > g.first
        ORDER BY r.row""",
    )
    quarantine = [
        pd.DataFrame(
            {
                "file": name,
                "row": dups["row"].astype("int64"),
                "reason": QuarantineReason.DUPLICATE_ROW.value,
                "column": "",
                "value": dups["value"].astype(str),  # as validation's
                "detail": "exact repeat of an earlier row",
            }
        )
    ]
    fields = {f.target: _field_sql(f, _column_of(header, cols, f)) for f in DELIVERED_FIELDS}
    vendor, currency = fields["vendor"][0], fields["currency"][0]
    fast = " AND ".join(f"({ok})" for _, ok in fields.values()) + (
        f" AND regexp_full_match({vendor}, {lit(ASCII)})"
        f" AND regexp_full_match({currency}, {lit(ASCII)})"
        f" AND NOT ({fields['vendor_customer_id'][0]} = ''"
        f" AND {fields['vendor_customer_name'][0]} = '')"
    )
    values = {k: v for k, (v, _) in fields.items()}
    values["vendor"] = f"lower({vendor})"
    values["currency"] = (
        f"CASE WHEN {currency} = '' THEN {lit(opts.currency)} ELSE upper({currency}) END"
    )
    con.register("dups_in", dups[["row"]])
    typed_values = ", ".join(f"{values[c]} AS {c}" for c in _TYPED)
    con.execute(f"""CREATE TABLE {typed} AS SELECT row, {fast} AS fast, {typed_values}
        FROM {rec} ANTI JOIN dups_in USING (row)""")
    con.unregister("dups_in")
    signed = ", ".join(f"{_SIGNED[c]} AS {c}" if c in _SIGNED else c for c in _TYPED)
    con.execute(f"""INSERT INTO dl SELECT {signed}, '' AS charge_type,
        {lit(name + ":")} || row AS source, {lit(name)} AS file, row,
        {rank} * {ORD_RANK} + row AS ord FROM {typed} WHERE fast""")
    slow = fetch(
        con,
        f"SELECT row, {col_list} FROM {rec} SEMI JOIN "
        f"(SELECT row FROM {typed} WHERE NOT fast) USING (row) ORDER BY row",
    )
    if len(slow):  # the canonical loader's own rules on the rows that need them
        data = slow[cols].set_axis(header, axis=1)
        raw_rows = RawTable(
            path, "csv", data, slow["row"].astype("int64"), len(slow), delimiter=delim
        )
        parsed = format_named(FORMAT).parse(raw_rows, opts)
        frame = DELIVERED.conform(parsed.frame).assign(
            file=name,
            row=parsed.frame["row"].to_numpy(),
            ord=rank * ORD_RANK + parsed.frame["row"].to_numpy(),
        )
        con.register("slow_in", frame)
        con.execute(_INSERT.format("slow_in"))
        con.unregister("slow_in")
        quarantine.append(parsed.quarantine)
    rows_read, used, first, last = con.execute(
        f"""SELECT (SELECT count(*) FROM {rec}), count(*), min(charge_start),
        max(coalesce(charge_end, charge_start)) FROM dl WHERE file = ?""", [name]
    ).fetchone()
    con.execute(f"DROP {'VIEW' if parquet or not n_blank else 'TABLE'} {rec}")
    for t in (typed, raw):
        con.execute(f"DROP TABLE {t}")
    q = conform_quarantine(
        pd.concat([x for x in quarantine if len(x)] or [quarantine[0]], ignore_index=True))
    bad = q.drop_duplicates(["file", "row"])
    if rows_read != used + len(bad):  # a lost row is a bug, never a user error
        raise AssertionError(f"rows not conserved reading {name} with DuckDB")
    check_share(path, rows_read, q, quarantine_limit(settings), FileReading(delim))
    digest = sha256 or sha256_file(path)
    inventory = pd.DataFrame(
        [
            {
                "file": name,
                "format": FORMAT,
                "entity": "delivered",
                "encoding": "parquet" if parquet else _encoding(path),
                "bytes": path.stat().st_size,
                "sha256": digest,
                "rows_read": rows_read,
                "rows_used": used,
                "rows_quarantined": len(bad),
                "origin": origins(path.parent, {name: digest})[name],
                "dates_from": first.isoformat() if first else "",
                "dates_to": last.isoformat() if last else "",
                "duplicate_of": "",
                "note": "",
            }
        ]
    )
    return DirectRead(inventory, q)


def _column_of(header: list[str], cols: list[str], f: Field) -> str | None:
    """The raw column (c0, c1, ...) holding field ``f``: RawTable.column()'s lookup."""
    raw = RawTable(Path("x"), "csv", pd.DataFrame(columns=header), pd.Series(dtype="int64"), 0)
    found = raw.column(*f.source) if f.source else None
    return None if found is None else cols[header.index(found)]


def _encoding(path: Path) -> str:
    with path.open("rb") as fh:
        return "utf-8-sig" if fh.read(3) == b"\xef\xbb\xbf" else "utf-8"
