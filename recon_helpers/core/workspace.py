"""Paths of a workspace and its ``recon.toml`` settings.

Layout (SPEC)::

    data/                       the workspace (``--workspace``)
      inputs/<YYYY-MM>/         raw exports, never modified
      mappings/clients.csv      vendor customer -> PSA client
      mappings/products.csv     vendor SKU -> PSA product
      recon.toml                optional settings
      ledger.sqlite             decisions and sign-offs
    reports/<YYYY-MM>/          rendered reports (``--reports``; default: beside the workspace)

Example:
    >>> ws = Workspace.open("data")
    >>> ws.inputs(Period.parse("2026-10"))
    PosixPath('data/inputs/2026-10')
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from recon_helpers.core.errors import ConfigError, UsageError
from recon_helpers.core.period import PERIOD_RE, Period

MonthRule = Literal["month_end", "day_weighted"]
Engine = Literal["pandas", "duckdb", "auto"]


@dataclass(frozen=True)
class Tolerance:
    """How far quantities and amounts may differ before it is a finding (inclusive)."""

    quantity_abs: Decimal = Decimal(0)
    quantity_pct: Decimal = Decimal(0)
    amount_abs: Decimal = Decimal("0.01")


@dataclass(frozen=True)
class Settings:
    """Parsed ``recon.toml``; every key optional.

    Example recon.toml::

        currency = "USD"
        month_rule = "month_end"          # or "day_weighted"
        engine = "auto"                   # or "pandas", "duckdb" (see engine_duckdb.py)
        [tolerance]
        quantity_abs = "0"
        quantity_pct = "0"                # percent of the agreement quantity
        amount_abs = "0.01"
        [tolerance.products."M365-BP"]
        quantity_abs = "1"
        [files."export.csv"]
        format = "pax8_invoice_items"
        encoding = "cp1252"
        delimiter = ";"
        decimal_comma = true
        date_format = "dmy"
        sheet = "Items"
        [autotask]
        timezone = "America/New_York"
        [statement]
        hidden_vendors = ["pax8"]
        [duckdb]
        auto_above_mb = 1024              # auto: DuckDB above this many MB of delivered CSV
        memory_limit = "4GB"              # DuckDB's memory_limit; it spills to disk beyond
    """

    currency: str = "USD"
    month_rule: MonthRule = "month_end"
    tolerance: Tolerance = Tolerance()
    product_tolerance: dict[str, Tolerance] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    timezone: str | None = None
    fuzzy_min_score: int = 60
    margin_floor_pct: Decimal = Decimal(0)
    engine: Engine = "auto"
    engine_auto_mb: int = 1024
    raw: dict[str, Any] = field(default_factory=dict)

    def tolerance_for(self, product_id: str) -> Tolerance:
        """The tolerance for one product (per-product entry, else the default)."""
        return self.product_tolerance.get(product_id, self.tolerance)


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(f"recon.toml: {where} = {value!r} is not a number") from exc


def _tolerance(table: dict[str, Any], base: Tolerance, where: str) -> Tolerance:
    known = {"quantity_abs", "quantity_pct", "amount_abs"}
    unknown = set(table) - known - {"products"}
    if unknown:
        raise ConfigError(f"recon.toml: unknown keys in [{where}]: {sorted(unknown)}")
    return Tolerance(
        *(
            _decimal(table[k], f"{where}.{k}") if k in table else getattr(base, k)
            for k in ("quantity_abs", "quantity_pct", "amount_abs")
        )
    )


def parse_settings(text: str, source: str = "recon.toml") -> Settings:
    """Parse recon.toml text into Settings.

    Raises:
        ConfigError: malformed TOML or a bad value, naming the key.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    rule = doc.get("month_rule", "month_end")
    if rule not in ("month_end", "day_weighted"):
        raise ConfigError(f"{source}: month_rule must be month_end or day_weighted, not {rule!r}")
    tol_table = doc.get("tolerance", {})
    default = _tolerance(tol_table, Tolerance(), "tolerance")
    per_product = {
        str(pid): _tolerance(t, default, f"tolerance.products.{pid}")
        for pid, t in tol_table.get("products", {}).items()
    }
    files = {str(k): dict(v) for k, v in doc.get("files", {}).items()}
    return Settings(
        currency=str(doc.get("currency", "USD")).upper(),
        month_rule=rule,
        tolerance=default,
        product_tolerance=per_product,
        files=files,
        timezone=doc.get("autotask", {}).get("timezone"),
        fuzzy_min_score=int(doc.get("mapping", {}).get("fuzzy_min_score", 60)),
        margin_floor_pct=_decimal(doc.get("margin", {}).get("floor_pct", 0), "margin.floor_pct"),
        engine=_engine(doc.get("engine", "auto"), source),
        engine_auto_mb=_positive_int(doc.get("duckdb", {}).get("auto_above_mb", 1024),
                                     "duckdb.auto_above_mb", source),
        raw=doc,
    )


def _engine(value: Any, source: str) -> Engine:
    if value not in ("pandas", "duckdb", "auto"):
        raise ConfigError(f"{source}: engine must be pandas, duckdb or auto, not {value!r}")
    return value  # type: ignore[no-any-return]


def _positive_int(value: Any, where: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{source}: {where} must be a positive whole number, not {value!r}")
    return value


@dataclass(frozen=True)
class Workspace:
    """A workspace folder (``data/``) and where its reports go."""

    root: Path
    reports_root: Path

    @classmethod
    def open(cls, root: str | Path = "data", reports: str | Path | None = None) -> Workspace:
        """Open a workspace folder; reports default to ``reports/`` beside it.

        Raises:
            UsageError: the folder does not exist.
        """
        path = Path(root)
        if not path.is_dir():
            raise UsageError(
                f"workspace {path} does not exist; run `recon demo --workspace {path}` "
                "for the demo, or create inputs/<YYYY-MM>/ in it"
            )
        rep = Path(reports) if reports is not None else path.resolve().parent / "reports"
        return cls(path, rep)

    def inputs(self, period: Period) -> Path:
        """Folder of one month's raw exports."""
        return self.root / "inputs" / str(period)

    @property
    def mappings(self) -> Path:
        """Folder of the mapping files."""
        return self.root / "mappings"

    @property
    def clients_map(self) -> Path:
        """mappings/clients.csv."""
        return self.mappings / "clients.csv"

    @property
    def products_map(self) -> Path:
        """mappings/products.csv."""
        return self.mappings / "products.csv"

    @property
    def ignore_map(self) -> Path:
        """mappings/ignore.csv: vendor customers deliberately not billed."""
        return self.mappings / "ignore.csv"

    @property
    def config_path(self) -> Path:
        """recon.toml."""
        return self.root / "recon.toml"

    @property
    def ledger_path(self) -> Path:
        """ledger.sqlite."""
        return self.root / "ledger.sqlite"

    def report_dir(self, period: Period) -> Path:
        """reports/<YYYY-MM>/."""
        return self.reports_root / str(period)

    def periods(self) -> list[Period]:
        """Every month with an inputs folder, oldest first."""
        base = self.root / "inputs"
        if not base.is_dir():
            return []
        return sorted(Period.parse(p.name) for p in base.iterdir()
                      if p.is_dir() and PERIOD_RE.fullmatch(p.name))

    def settings(self) -> Settings:
        """recon.toml parsed (defaults when absent)."""
        if not self.config_path.exists():
            return Settings()
        return parse_settings(self.config_path.read_text(encoding="utf-8"), str(self.config_path))
