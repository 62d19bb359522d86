"""Microsoft licences beyond the invoice: idle seats, reduction windows, renewals, terms.

The rules of the four licence finding kinds (schemas.LICENCE_KINDS), over the Partner Center
subscriptions (``microsoft.subscriptions``) and the licence counts (``microsoft.licences``,
Graph ``subscribedSkus`` or Partner Center subscribed SKUs) of
:mod:`recon_helpers.ingest.loaders.microsoft_licences`. Key-sized and pure: both engines call
:func:`licence_report` from :func:`recon_helpers.reconcile.result.assemble`, so the DuckDB
engine gives the same table.

Rules (also in the README, "Microsoft licences"):

* Only ``active`` subscriptions count as bought (suspended, disabled, expired and deleted ones
  bill nothing). A tenant's assigned licences are its Graph counts when a Graph file is loaded
  for it, else its Partner Center subscribed SKUs. Graph's ``skuId`` is mapped to the
  Partner Center ``ProductId:SkuId`` by :data:`SHIPPED_SKUS`, extended (and overridden) by
  ``mappings/microsoft_skus.csv``.
* The as-of date (``--as-of``, notebook parameter ``as_of``; default the period's last day) is
  "today". ``[licences] horizon_days`` (default 30) is N; ``[licences] timezone`` (default
  UTC) is the zone in which act-by dates are given.
* A window's **act-by date** is the last local day on which it is still open: Microsoft's
  instants are UTC and a window is open *until* the instant written, so the act-by date is
  the local date of one second before it. ``2026-10-10T00:00:00Z`` -> 2026-10-09 in UTC and in
  America/New_York, 2026-10-10 in Australia/Sydney. A commitment ending on day E (inclusive)
  renews at E+1 00:00 UTC, by the same rule.
* ``unassigned_licences`` (tenant x SKU): bought > assigned. Impact: -(idle x unit cost), the
  month's cost of the idle seats (margin lost); the detail says how many can still be reduced
  and until when.
* ``reduction_window`` (subscription): seats still refundable (``refundableQuantity.details``,
  else ``cancellationAllowedUntilDate`` for the whole quantity) with an act-by date in
  [as-of, as-of + N]. Idle seats are allotted to the tenant's windows by act-by date; impact:
  -(reducible idle seats x unit cost x months left), what keeping them commits the MSP to. A
  window whose act-by date fell in [period start, as-of) while seats sit idle is reported
  **lost** (detail starts ``lost:``), with the same impact: no longer a to-do.
* ``renewal_due`` (subscription): commitment end within [as-of, as-of + N], with the
  auto-renew setting and next-term instructions. Impact, when the renewal price is known
  (``mappings/microsoft_renewal_prices.csv``): -(renewal unit cost - current unit cost) x
  seats renewing, the monthly margin change against the unchanged agreement price; else
  unknown.
* ``term_mismatch`` (subscription): the subscription's term is longer than the client's
  agreement allows (``mappings/agreement_terms.csv``; no entry = not known, no finding).
  Impact: -(seats x unit cost x months left).
* Unit cost: the month's vendor cost per unit of the client x product (three-way table, as
  the SPEC rules use it), else the agreement's unit cost; unknown -> impact unknown. Months
  left from as-of to the commitment end: a part month counts as one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from recon_helpers.core.errors import ConfigError, UsageError
from recon_helpers.core.exports import unprotect_cell
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import CENT, MONEY_SCALE, QTY_SCALE, money, qty
from recon_helpers.core.workspace import Settings, Workspace
from recon_helpers.ingest.loaders.microsoft_licences import (
    LICENCE_COLUMNS,
    LICENCES,
    SUBSCRIPTION_COLUMNS,
    SUBSCRIPTIONS,
    VENDOR,
)
from recon_helpers.reconcile.mapping import (
    assign_clients,
    read_client_map,
    read_ignore_map,
)

SUBSCRIPTION_KINDS = ("reduction_window", "renewal_due", "term_mismatch")

# Graph skuId / skuPartNumber -> Partner Center ProductId:SkuId, for common NCE SKUs (Microsoft's
# "Product names and service plan identifiers for licensing" table and the NCE price list).
# Extend or override in mappings/microsoft_skus.csv.
SHIPPED_SKUS: tuple[tuple[str, str, str, str], ...] = (
    ("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "CFQ7TTC0LCHC:0002",
     "Microsoft 365 Business Premium"),
    ("f245ecc8-75af-4f8e-b61f-27d8114de5f3", "O365_BUSINESS_PREMIUM", "CFQ7TTC0LDPB:0001",
     "Microsoft 365 Business Standard"),
    ("3b555118-da6a-4418-894f-7df1e2096870", "O365_BUSINESS_ESSENTIALS", "CFQ7TTC0LH18:0001",
     "Microsoft 365 Business Basic"),
    ("4b9405b0-7788-4568-add1-99614e613b69", "EXCHANGESTANDARD", "CFQ7TTC0LH16:0001",
     "Exchange Online (Plan 1)"),
    ("6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "CFQ7TTC0LF8Q:0001",
     "Office 365 E3"),
    ("05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "CFQ7TTC0LFLX:0001", "Microsoft 365 E3"),
)
SKU_MAP_FILE = "microsoft_skus.csv"
TERMS_FILE = "agreement_terms.csv"
RENEWAL_FILE = "microsoft_renewal_prices.csv"
ONE_SECOND = pd.Timedelta(seconds=1)


@dataclass(frozen=True)
class LicenceInputs:
    """What the licence rules need besides the loaded month: "today", N, the zone of act-by
    dates, the SKU map, agreement terms, renewal prices and the client mapping files."""

    as_of: date
    horizon_days: int = 30
    timezone: str = "UTC"
    sku_map: pd.DataFrame = field(default_factory=lambda: sku_map_frame(()))
    terms: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["client_id", "product_id", "term_months", "row"]))
    renewal_prices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["vendor_sku", "term", "unit_cost", "currency", "row"]))
    client_map: pd.DataFrame | None = None
    ignore_map: pd.DataFrame | None = None


def licence_options(settings: Settings) -> tuple[int, str]:
    """``[licences] horizon_days`` and ``timezone`` of recon.toml (defaults 30, "UTC").

    Raises:
        ConfigError: an unknown key, a horizon that is not a whole number of days >= 0, or an
            unknown time zone.
    """
    table = settings.raw.get("licences", {})
    if not isinstance(table, dict):
        raise ConfigError("recon.toml: [licences] must be a table")
    unknown = set(table) - {"horizon_days", "timezone"}
    if unknown:
        raise ConfigError(f"recon.toml: unknown keys in [licences]: {sorted(unknown)}")
    days = table.get("horizon_days", 30)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ConfigError(f"recon.toml: [licences] horizon_days = {days!r} must be a whole "
                          "number of days, 0 or more")
    zone = str(table.get("timezone", "UTC"))
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"recon.toml: [licences] timezone = {zone!r} is not a time zone "
                          "(e.g. \"Europe/Berlin\")") from exc
    return days, zone


def licence_inputs(workspace: Workspace, period: Period, as_of: date | None = None,
                   settings: Settings | None = None) -> LicenceInputs:
    """The workspace's licence settings and mapping files, with ``as_of`` (default the
    period's last day).

    Raises:
        ConfigError: a bad ``[licences]`` table or mapping file (names file and row).
    """
    settings = settings or workspace.settings()
    days, zone = licence_options(settings)
    folder = workspace.mappings
    return LicenceInputs(
        as_of=as_of or period.last,
        horizon_days=days,
        timezone=zone,
        sku_map=read_sku_map(folder / SKU_MAP_FILE),
        terms=read_terms(folder / TERMS_FILE),
        renewal_prices=read_renewal_prices(folder / RENEWAL_FILE),
        client_map=read_client_map(workspace.clients_map),
        ignore_map=read_ignore_map(workspace.ignore_map),
    )


def parse_as_of(text: object, what: str = "as_of") -> date:
    """A ``YYYY-MM-DD`` as-of date, strictly (no other forms, no impossible days).

    Raises:
        UsageError: names ``what`` and the value.
    """
    value = str(text).strip()
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what} {value!r} is not a date YYYY-MM-DD") from None


def todo(report: LicenceReport) -> pd.DataFrame:
    """The actions still open, by act-by date (lost windows and idle seats without a window
    are not to-dos: they are in ``report.actions`` with state ``lost`` / ``idle``)."""
    acts = report.actions
    return acts[acts["state"].eq("open")].reset_index(drop=True)


# --- mapping files ------------------------------------------------------------------------


def _read_csv(path: Path, columns: tuple[str, ...], required: tuple[str, ...]) -> list[dict]:  # type: ignore[type-arg]
    """Rows of a small mapping CSV as dicts (with ``row``, 1-based); [] when absent.

    Raises:
        ConfigError: the header lacks a required column or a row has a ragged field count.
    """
    if not path.exists():
        return []
    text = path.read_bytes().decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(v.strip() for v in r)]
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ConfigError(f"{path.name}: header lacks {missing}; expected {','.join(columns)}")
    out = []
    for n, r in enumerate(rows[1:], start=1):
        if len(r) != len(header):
            raise ConfigError(f"{path.name}:{n}: {len(r)} fields, header has {len(header)}")
        rec = dict(zip(header, (unprotect_cell(v.strip()) for v in r), strict=True))
        out.append({**{c: rec.get(c, "") for c in columns}, "row": n})
    return out


def sku_map_frame(rows: tuple[tuple[str, str, str, str], ...] | list[tuple[str, str, str, str]],
                  origin: str = "shipped") -> pd.DataFrame:
    """(sku_id, sku_part_number, vendor_sku, sku_name) rows as the SKU map frame."""
    return pd.DataFrame(
        [{"sku_guid": g.lower(), "sku_part_number": p.upper(), "vendor_sku": v.upper(),
          "sku_name": n, "origin": origin} for g, p, v, n in rows],
        columns=["sku_guid", "sku_part_number", "vendor_sku", "sku_name", "origin"])


def read_sku_map(path: Path) -> pd.DataFrame:
    """The shipped SKU map with ``mappings/microsoft_skus.csv`` (``sku_id,sku_part_number,
    vendor_sku,sku_name``) on top: a workspace row replaces a shipped one of the same GUID or
    part number.

    Raises:
        ConfigError: a row without vendor_sku, or with neither sku_id nor sku_part_number, a
            vendor_sku that is not ProductId:SkuId, or two rows giving one GUID or part number
            different SKUs (names both rows).
    """
    rows = _read_csv(path, ("sku_id", "sku_part_number", "vendor_sku", "sku_name"),
                     ("vendor_sku",))
    seen: dict[str, tuple[int, str]] = {}
    mine = []
    for r in rows:
        where = f"{path.name}:{r['row']}"
        if not r["vendor_sku"] or not (r["sku_id"] or r["sku_part_number"]):
            raise ConfigError(f"{where}: vendor_sku and one of sku_id, sku_part_number are "
                              "required")
        if len([p for p in r["vendor_sku"].split(":") if p]) != 2:
            raise ConfigError(f"{where}: vendor_sku {r['vendor_sku']!r} is not ProductId:SkuId "
                              "(e.g. CFQ7TTC0LCHC:0002)")
        for ref in (r["sku_id"].lower(), r["sku_part_number"].upper()):
            if not ref:
                continue
            before = seen.get(ref)
            if before and before[1] != r["vendor_sku"].upper():
                raise ConfigError(f"{path.name}: rows {before[0]} and {r['row']} map {ref} to "
                                  f"different SKUs ({before[1]}, {r['vendor_sku'].upper()})")
            seen[ref] = (r["row"], r["vendor_sku"].upper())
        mine.append((r["sku_id"], r["sku_part_number"], r["vendor_sku"], r["sku_name"]))
    ws = sku_map_frame(mine, f"mappings/{SKU_MAP_FILE}")
    shipped = sku_map_frame(SHIPPED_SKUS)
    taken = (shipped["sku_guid"].isin(set(ws["sku_guid"]) - {""})
             | shipped["sku_part_number"].isin(set(ws["sku_part_number"]) - {""}))
    return pd.concat([ws, shipped[~taken]], ignore_index=True)


def parse_term(text: str) -> int | None:
    """``P1M`` -> 1, ``P1Y`` -> 12, ``P3Y`` -> 36; None when not such a term."""
    t = text.strip().upper()
    if len(t) >= 3 and t[0] == "P" and t[-1] in "MY" and t[1:-1].isdigit():
        return int(t[1:-1]) * (12 if t[-1] == "Y" else 1)
    return None


def read_terms(path: Path) -> pd.DataFrame:
    """``mappings/agreement_terms.csv`` (``client_id,product_id,term``): the commitment the
    client's agreement holds them to (``P1M`` month to month, ``P1Y``, ``P3Y``); an empty
    client_id applies to every client, a client's own row wins.

    Raises:
        ConfigError: a missing product_id, a term that is not P<n>M / P<n>Y, or two rows for
            one client and product with different terms.
    """
    rows = _read_csv(path, ("client_id", "product_id", "term"), ("client_id", "product_id",
                                                                  "term"))
    seen: dict[tuple[str, str], tuple[int, int]] = {}
    out = []
    for r in rows:
        months = parse_term(r["term"])
        if not r["product_id"] or months is None:
            raise ConfigError(f"{path.name}:{r['row']}: product_id and a term such as P1M or "
                              f"P1Y are required (got {r['term']!r})")
        key = (r["client_id"], r["product_id"])
        if key in seen and seen[key][1] != months:
            raise ConfigError(f"{path.name}: rows {seen[key][0]} and {r['row']} give "
                              f"{'/'.join(k or '*' for k in key)} different terms")
        seen[key] = (r["row"], months)
        out.append({"client_id": r["client_id"], "product_id": r["product_id"],
                    "term_months": months, "row": r["row"]})
    return pd.DataFrame(out, columns=["client_id", "product_id", "term_months", "row"])


def read_renewal_prices(path: Path) -> pd.DataFrame:
    """``mappings/microsoft_renewal_prices.csv`` (``vendor_sku,term,unit_cost,currency``): the
    unit cost a SKU renews at (per month and seat), when the MSP knows it (price list).

    Raises:
        ConfigError: a missing field, a bad term, a cost that is not a decimal number, or two
            rows for one SKU, term and currency.
    """
    rows = _read_csv(path, ("vendor_sku", "term", "unit_cost", "currency"),
                     ("vendor_sku", "term", "unit_cost", "currency"))
    out, seen = [], {}
    for r in rows:
        where = f"{path.name}:{r['row']}"
        try:
            cost = Decimal(r["unit_cost"])
        except ArithmeticError:
            cost = None
        if cost is None or not cost.is_finite() or cost < 0 or parse_term(r["term"]) is None \
                or not r["vendor_sku"] or not r["currency"]:
            raise ConfigError(f"{where}: vendor_sku, a term (P1M/P1Y), a unit_cost >= 0 and a "
                              "currency are required")
        key = (r["vendor_sku"].upper(), r["term"].upper(), r["currency"].upper())
        if key in seen:
            raise ConfigError(f"{path.name}: rows {seen[key]} and {r['row']} both price "
                              f"{'/'.join(key)}")
        seen[key] = r["row"]
        out.append({"vendor_sku": key[0], "term": key[1], "unit_cost": cost,
                    "currency": key[2], "row": r["row"]})
    return pd.DataFrame(out, columns=["vendor_sku", "term", "unit_cost", "currency", "row"])


# --- window arithmetic --------------------------------------------------------------------


def act_by(instant: pd.Timestamp, timezone: str = "UTC") -> date:
    """The last local day on which a window open *until* ``instant`` (UTC) can be used."""
    ts = pd.Timestamp(instant)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return (ts - ONE_SECOND).tz_convert(timezone).date()


def renewal_instant(commitment_end: date) -> pd.Timestamp:
    """When a commitment ending on ``commitment_end`` (inclusive, UTC) renews."""
    return pd.Timestamp(commitment_end + timedelta(days=1), tz="UTC")


def months_left(as_of: date, end: date) -> int:
    """Billing months from ``as_of`` to ``end`` (inclusive); a part month counts as one; 0
    when ``end`` is before ``as_of``."""
    if end < as_of:
        return 0
    return (end.year - as_of.year) * 12 + end.month - as_of.month + (end.day >= as_of.day)


def windows_of(sub: pd.Series) -> list[tuple[pd.Timestamp, int]]:
    """A subscription's refund windows as (deadline instant UTC, seats): its
    ``refundableQuantity.details``, else its ``cancellationAllowedUntilDate`` for the
    refundable total (or, when the API gave no refundable quantity, the whole quantity)."""
    text = str(sub["refund_windows"] or "")
    if text:
        out = []
        for part in text.split(";"):
            n, _, when = part.partition("@")
            out.append((pd.Timestamp(when), int(n)))
        return out
    until = sub["cancel_until"]
    if pd.isna(until):
        return []
    seats = sub["refundable_qty"]
    seats = sub["quantity"] if pd.isna(seats) else seats
    return [(pd.Timestamp(until), int(seats) // QTY_SCALE)]


# --- the report ---------------------------------------------------------------------------

# the Microsoft view's per tenant x SKU table (present/licences.py shows it)
SEAT_COLUMNS = (
    "client_id", "client_name", "vendor_customer", "vendor_sku", "product_id", "sku_name",
    "bought", "assigned", "idle", "billed", "agreed", "term", "commitment_end", "auto_renew",
    "unit_cost", "idle_cost", "currency", "sources",
)
# the to-do list: one row per action, by act-by date
ACTION_COLUMNS = (
    "act_by", "state", "kind", "client_id", "client_name", "vendor_customer", "vendor_sku",
    "subscription_id", "seats", "impact", "currency", "what", "key",
)


@dataclass(frozen=True)
class LicenceReport:
    """The month's licence figures: seats per tenant x SKU, the actions by act-by date, and
    the findings (FINDING_COLUMNS rows, plus ``cust_key``)."""

    as_of: date
    horizon_days: int
    timezone: str
    seats: pd.DataFrame
    actions: pd.DataFrame
    findings: pd.DataFrame
    unmatched: pd.DataFrame  # licence rows whose SKU the map does not know


def _empty_report(inputs: LicenceInputs, columns: tuple[str, ...]) -> LicenceReport:
    return LicenceReport(inputs.as_of, inputs.horizon_days, inputs.timezone,
                         pd.DataFrame(columns=list(SEAT_COLUMNS)),
                         pd.DataFrame(columns=list(ACTION_COLUMNS)),
                         pd.DataFrame(columns=[*columns, "cust_key"]),
                         pd.DataFrame(columns=["vendor_customer", "sku_guid", "sku_part_number",
                                               "source"]))


def _round(v: Decimal | None) -> Decimal | None:
    return None if v is None else v.quantize(CENT, ROUND_HALF_UP)


def _m(v: Decimal | None) -> str:
    """Money for a sentence: at least two decimals (18.70, 10.625), "?" when unknown."""
    if v is None:
        return "?"
    return f"{v.quantize(CENT) if v == v.quantize(CENT) else v:f}"


def _seats(v: object) -> int:
    return 0 if v is None or pd.isna(v) else int(v) // QTY_SCALE  # type: ignore[call-overload]


def _tenant_clients(tenants: pd.Series, customers: pd.DataFrame, clients: pd.DataFrame,
                    inputs: LicenceInputs) -> pd.DataFrame:
    """tenant (lower) -> client_id, client_method, cust_key: the month's Microsoft customers
    first (they carry names), else the mapping files by tenant id."""
    cust = customers[customers["vendor"].str.lower().eq(VENDOR)]
    known = dict(zip(cust["vendor_customer_id"].str.lower(),
                     zip(cust["client_id"], cust["client_method"], cust["cust_key"],
                         strict=True), strict=True))
    rest = sorted(set(tenants) - set(known))
    if rest and inputs.client_map is not None:
        frame = pd.DataFrame({"vendor": VENDOR, "vendor_customer_id": rest,
                              "vendor_customer_name": "", "client_link": "",
                              "cust_key": [f"{VENDOR}|{t}" for t in rest]})
        got = assign_clients(frame, clients, inputs.client_map, inputs.ignore_map)
        for t, c, m, k in zip(got["vendor_customer_id"], got["client_id"],
                              got["client_method"], got["cust_key"], strict=True):
            known[t] = (c, m, k)
    rows = [(t, *known.get(t, ("", "", f"{VENDOR}|{t}"))) for t in sorted(set(tenants))]
    return pd.DataFrame(rows, columns=["tenant", "client_id", "client_method", "cust_key"]
                        ).set_index("tenant")


def _key_figures(tw: pd.DataFrame, promised: pd.DataFrame, billed: pd.DataFrame
                 ) -> dict[tuple[str, str], dict[str, object]]:
    """(client, product) -> agreed, billed, unit price, unit cost, currency and the agreement
    rows, from the three-way table (first currency in order)."""
    out: dict[tuple[str, str], dict[str, object]] = {}
    for r in tw.sort_values(["client_id", "product_id", "currency"]).itertuples(index=False):
        k = (r.client_id, r.product_id)
        if k in out:
            continue
        cost = None
        if (not pd.isna(r.vendor_cost_total) and r.delivered_qty
                and r.vendor_cost_currency == r.currency):
            cost = (money(r.vendor_cost_total) / qty(r.delivered_qty)).quantize(  # type: ignore[operator]
                Decimal("0.000001"), ROUND_HALF_UP).normalize()
        elif not pd.isna(r.agreement_cost):
            cost = money(r.agreement_cost)
        out[k] = {"agreed": qty(r.agreement_qty) if r.agreement_lines else None,
                  "billed": qty(r.invoiced_qty) if r.invoiced_lines else None,
                  "price": money(r.unit_price), "cost": cost, "currency": r.currency}
    src: dict[tuple[str, str], list[str]] = {}
    for frame in (promised, billed):
        for c, p, s in zip(frame["client_id"], frame["product_id"], frame["source"],
                           strict=True):
            src.setdefault((c, p), []).append(s)
    for k, v in out.items():
        v["psa_sources"] = src.get(k, [])
    return out


def _join(sources: list[str]) -> str:
    def order(s: str) -> tuple[str, int]:
        f, _, r = s.rpartition(":")
        return (f, int(r) if r.isdigit() else 0)
    return ";".join(sorted(set(sources), key=order))


def licence_report(
    tables: dict[str, pd.DataFrame],
    customers: pd.DataFrame,
    clients: pd.DataFrame,
    month_promised: pd.DataFrame,
    month_billed: pd.DataFrame,
    tw: pd.DataFrame,
    product_map: pd.DataFrame,
    inputs: LicenceInputs,
    period: Period,
    columns: tuple[str, ...],
    default_currency: str = "USD",
) -> LicenceReport:
    """The month's licence seats, actions and findings (see the module docstring).

    Args:
        tables: the loaded tables (``microsoft.subscriptions``, ``microsoft.licences``).
        customers: the month's vendor customers with their clients (assign_clients()).
        clients: known_clients().
        month_promised, month_billed: the month's agreement and invoice lines (sources).
        tw: the three-way table (agreed, billed, prices and vendor unit costs per key).
        product_map: read_product_map() (vendor SKU -> PSA product).
        columns: the finding columns to give (FINDING_COLUMNS).

    Returns:
        LicenceReport; its findings are ordered by kind (LICENCE_KINDS order), client,
        tenant, SKU and subscription.
    """
    subs = tables.get(SUBSCRIPTIONS)
    lic = tables.get(LICENCES)
    if (subs is None or subs.empty) and (lic is None or lic.empty):
        return _empty_report(inputs, columns)
    # a month may hold only one side: the other is empty with its columns
    subs = subs if subs is not None else pd.DataFrame(columns=list(SUBSCRIPTION_COLUMNS))
    lic = lic if lic is not None else pd.DataFrame(columns=list(LICENCE_COLUMNS))
    subs = subs.assign(tenant=subs["vendor_customer_id"].astype(str).str.lower())
    lic = lic.assign(tenant=lic["vendor_customer_id"].astype(str).str.lower())
    who = _tenant_clients(pd.concat([subs["tenant"], lic["tenant"]]), customers, clients, inputs)
    names = clients.set_index("client_id")["client_name"].to_dict()
    pm = product_map[product_map["vendor"].str.lower().eq(VENDOR)]
    product_of = dict(zip(pm["vendor_sku"].str.upper(), pm["product_id"], strict=True))
    figures = _key_figures(tw, month_promised, month_billed)

    # licence rows -> Partner Center SKU (by GUID, else by part number)
    sm = inputs.sku_map
    by_guid = {g: v for g, v in zip(sm["sku_guid"], sm["vendor_sku"], strict=True) if g}
    by_part = {p: v for p, v in zip(sm["sku_part_number"], sm["vendor_sku"], strict=True) if p}
    sku_names = dict(zip(sm["vendor_sku"], sm["sku_name"], strict=True))
    if len(lic):
        graph_tenants = set(lic.loc[lic["origin"].eq("graph"), "tenant"])
        lic = lic[lic["origin"].eq("graph") | ~lic["tenant"].isin(graph_tenants)]
        mapped = lic["sku_guid"].map(by_guid)
        mapped = mapped.where(mapped.notna(), lic["sku_part_number"].str.upper().map(by_part))
        lic = lic.assign(vendor_sku=mapped.fillna(""))
    unmatched = (lic[lic["vendor_sku"].eq("")] if len(lic) else lic).rename(
        columns={"tenant": "vendor_customer"})
    active = subs[subs["status"].eq("active")] if len(subs) else subs

    as_of, horizon, zone = inputs.as_of, inputs.horizon_days, inputs.timezone
    last = as_of + timedelta(days=horizon)
    seat_rows, actions, found = [], [], []

    def base(tenant: str, sku: str) -> dict[str, object]:
        client_id, method, cust_key = who.loc[tenant] if tenant in who.index else ("", "", "")
        product = product_of.get(sku, "")
        fig = figures.get((client_id, product), {}) if client_id and product else {}
        return {"client_id": client_id, "method": method, "cust_key": cust_key,
                "product_id": product, "fig": fig,
                "currency": fig.get("currency") or default_currency}

    keys = sorted(set(zip(active["tenant"], active["vendor_sku"], strict=True))
                  | set(zip(lic.loc[lic["vendor_sku"].ne(""), "tenant"],
                            lic.loc[lic["vendor_sku"].ne(""), "vendor_sku"], strict=True))
                  if len(lic) else set(zip(active["tenant"], active["vendor_sku"], strict=True)))
    for tenant, sku in keys:
        b = base(tenant, sku)
        if b["method"] == "ignored":
            continue
        fig: dict[str, object] = b["fig"]  # type: ignore[assignment]
        mine = active[active["tenant"].eq(tenant) & active["vendor_sku"].eq(sku)]
        mine = mine.sort_values(["commitment_end", "subscription_id"], na_position="last")
        counts = lic[lic["tenant"].eq(tenant) & lic["vendor_sku"].eq(sku)] if len(lic) else lic
        bought = sum(_seats(v) for v in mine["quantity"])
        assigned = sum(_seats(v) for v in counts["assigned"]) if len(counts) else None
        idle = max(bought - assigned, 0) if assigned is not None else None
        cost: Decimal | None = fig.get("cost")  # type: ignore[assignment]
        cur = str(b["currency"])
        sub_src = list(mine["source"])
        lic_src = list(counts["source"]) if len(counts) else []
        psa_src: list[str] = fig.get("psa_sources", [])  # type: ignore[assignment]
        ends = [e for e in mine["commitment_end"] if not pd.isna(e)]
        term = ";".join(sorted(set(mine["term"])))
        seat_rows.append({
            "client_id": b["client_id"], "client_name": names.get(b["client_id"], ""),
            "vendor_customer": tenant, "vendor_sku": sku, "product_id": b["product_id"],
            "sku_name": (mine["offer_name"].iloc[0] if len(mine) else sku_names.get(sku, "")),
            "bought": bought, "assigned": assigned, "idle": idle,
            "billed": fig.get("billed"), "agreed": fig.get("agreed"), "term": term,
            "commitment_end": min(ends).date() if ends else None,
            "auto_renew": (";".join(sorted({"on" if a else "off" for a in mine["auto_renew"]}))
                           if len(mine) else ""),
            "unit_cost": cost,
            "idle_cost": _round(cost * idle) if cost is not None and idle else (
                Decimal("0.00") if idle == 0 else None),
            "currency": cur, "sources": _join(sub_src + lic_src),
        })

        def finding(kind: str, sub_id: str, detail: str, impact: Decimal | None,
                    vendor_qty: int | None, variance: int | None, sources: list[str],
                    act: date | None, state: str, seats: int | None,
                    b: dict[str, object] = b, tenant: str = tenant, sku: str = sku,
                    fig: dict[str, object] = fig, cost: Decimal | None = cost,
                    cur: str = cur) -> None:
            key = "|".join([kind, str(b["client_id"]), str(b["product_id"]), VENDOR, tenant,
                            sku, cur] + ([sub_id] if sub_id else []))
            if not b["client_id"]:
                detail += "; the tenant is not mapped to a client (recon map)"
            found.append({
                "period": str(period), "kind": kind, "client_id": b["client_id"],
                "client_name": names.get(str(b["client_id"]), ""),
                "product_id": b["product_id"], "vendor": VENDOR, "vendor_customer": tenant,
                "vendor_sku": sku,
                "vendor_qty": None if vendor_qty is None else Decimal(vendor_qty),
                "agreement_qty": fig.get("agreed"), "invoiced_qty": fig.get("billed"),
                "variance_qty": None if variance is None else Decimal(variance),
                "unit_price": fig.get("price"), "unit_cost": cost, "impact": _round(impact),
                "currency": cur, "sources": _join(sources), "key": key, "detail": detail,
                "hold": "", "cust_key": b["cust_key"],
            })
            actions.append({
                "act_by": act, "state": state, "kind": kind, "client_id": b["client_id"],
                "client_name": names.get(str(b["client_id"]), ""), "vendor_customer": tenant,
                "vendor_sku": sku, "subscription_id": sub_id, "seats": seats,
                "impact": _round(impact), "currency": cur, "what": detail, "key": key,
            })

        # reduction windows: idle seats allotted to the open windows by act-by date
        remaining = idle or 0
        open_windows, lost_windows = [], []
        for s in mine.itertuples(index=False):
            wins = [(act_by(t, zone), n) for t, n in windows_of(pd.Series(s._asdict()))]
            open_w = [(d, n) for d, n in wins if d >= as_of]
            if open_w:
                open_windows.append((min(d for d, _ in open_w), sum(n for _, n in open_w), s))
                continue
            # closed this period: the refundable quantity is gone from the API by now, but
            # every seat could be reduced until cancellationAllowedUntilDate
            past = [(d, n) for d, n in wins if period.first <= d < as_of]
            if not pd.isna(s.cancel_until):
                d = act_by(s.cancel_until, zone)
                if period.first <= d < as_of:
                    past.append((d, _seats(s.quantity)))
            if past:
                lost_windows.append((max(d for d, _ in past), max(n for _, n in past), s))
        by_date = lambda w: (w[0], w[2].subscription_id)  # noqa: E731
        for deadline, refundable, s in sorted(open_windows, key=by_date):
            take = min(remaining, refundable)
            remaining -= take
            if deadline > last:
                continue
            end = s.commitment_end.date() if not pd.isna(s.commitment_end) else None
            left = months_left(as_of, end) if end else 0
            impact = -(cost * take * left) if cost is not None else None
            what = (f"{refundable} of {_seats(s.quantity)} seats can be reduced or cancelled "
                    f"until {deadline.isoformat()} ({zone})"
                    + (f"; {take} of them idle: keeping them commits {left} more months "
                       f"at {_m(cost)} {cur}" if take and cost is not None else
                       f"; {take} of them idle" if take else "; none idle"))
            finding("reduction_window", s.subscription_id, what, impact if take else Decimal(0)
                    if cost is not None else None, _seats(s.quantity), -take if take else 0,
                    [s.source, *lic_src], deadline, "open", refundable)
        for closed, refundable, s in sorted(lost_windows, key=by_date):
            take = min(remaining, refundable)
            remaining -= take
            if not take:
                continue
            end = s.commitment_end.date() if not pd.isna(s.commitment_end) else None
            left = months_left(as_of, end) if end else 0
            impact = -(cost * take * left) if cost is not None else None
            what = (f"lost: the reduction window closed on {closed.isoformat()} ({zone}) with "
                    f"{take} idle seats; they are committed for {left} more months"
                    + (f" at {_m(cost)} {cur}" if cost is not None else ""))
            finding("reduction_window", s.subscription_id, what, impact, _seats(s.quantity),
                    -take, [s.source, *lic_src], closed, "lost", take)

        if idle:
            reducible = sum(min(n, idle) for d, n, _ in open_windows)
            soonest = min((d for d, _, _ in open_windows), default=None)
            can = (f"{min(reducible, idle)} can still be reduced until {soonest.isoformat()}"
                   if soonest and reducible else
                   "none can be reduced before the commitment ends"
                   + (f" on {min(ends).date().isoformat()}" if ends else ""))
            what = (f"bought {bought}, assigned {assigned}: {idle} idle seats"
                    + (f" at {_m(cost)} {cur} cost {_round(cost * idle)} {cur} a month"
                       if cost is not None else " (unit cost unknown)") + f"; {can}")
            finding("unassigned_licences", "", what,
                    -(cost * idle) if cost is not None else None, bought, -idle,
                    sub_src + lic_src, soonest, "open" if soonest else "idle", idle)

        for s in mine.itertuples(index=False):
            if pd.isna(s.commitment_end):
                continue
            end = s.commitment_end.date()
            renew = act_by(renewal_instant(end), zone)
            if as_of <= renew <= last:
                nxt_sku = s.next_vendor_sku or sku
                nxt_term = s.next_term or s.term
                nxt_qty = _seats(s.next_quantity) if not pd.isna(s.next_quantity) else _seats(
                    s.quantity)
                price = _renewal_price(inputs.renewal_prices, nxt_sku, nxt_term, cur)
                impact = (-(price - cost) * nxt_qty if price is not None and cost is not None
                          else None)
                agreed_price = fig.get("price")
                what = (f"commitment ends {end.isoformat()}; auto-renew "
                        f"{'on' if s.auto_renew else 'off'}")
                if s.next_vendor_sku or s.next_term or not pd.isna(s.next_quantity):
                    what += f"; next term: {nxt_qty} x {nxt_sku} {nxt_term}"
                if not s.auto_renew:
                    what += "; the seats stop unless renewed"
                if price is not None:
                    what += f"; renews at {_m(price)} {cur} (now {_m(cost)})"
                    if agreed_price is not None and price > agreed_price:  # type: ignore[operator]
                        what += f", above the agreement price {_m(agreed_price)} {cur}"  # type: ignore[arg-type]
                else:
                    what += "; renewal price unknown (mappings/microsoft_renewal_prices.csv)"
                finding("renewal_due", s.subscription_id, what, impact, _seats(s.quantity),
                        None, [s.source, *psa_src], renew, "open", nxt_qty)

        for s in mine.itertuples(index=False):
            allowed = _allowed_term(inputs.terms, str(b["client_id"]), str(b["product_id"]))
            if allowed is None or pd.isna(s.term_months) or int(s.term_months) <= allowed:
                continue
            end = s.commitment_end.date() if not pd.isna(s.commitment_end) else None
            left = months_left(as_of, end) if end else 0
            seats = _seats(s.quantity)
            impact = -(cost * seats * left) if cost is not None else None
            what = (f"Microsoft holds {seats} seats to {s.term} until "
                    f"{end.isoformat() if end else '?'} ({left} months left); the agreement "
                    f"allows {'month to month' if allowed == 1 else f'{allowed} months'}")
            finding("term_mismatch", s.subscription_id, what, impact, seats, None,
                    [s.source, *psa_src], as_of, "open", seats)

    findings = pd.DataFrame(found, columns=[*columns, "cust_key"])
    if len(findings):
        rank = {"unassigned_licences": 0, "reduction_window": 1, "renewal_due": 2,
                "term_mismatch": 3}
        findings = findings.assign(_k=findings["kind"].map(rank)).sort_values(
            ["_k", "client_id", "vendor_customer", "vendor_sku", "key"], kind="stable"
        ).drop(columns="_k").reset_index(drop=True)
    acts = pd.DataFrame(actions, columns=list(ACTION_COLUMNS))
    if len(acts):
        acts = acts.assign(_d=acts["act_by"].map(lambda d: d or date.max)).sort_values(
            ["_d", "kind", "client_id", "key"], kind="stable").drop(columns="_d").reset_index(
            drop=True)
    seats_frame = pd.DataFrame(seat_rows, columns=list(SEAT_COLUMNS))
    unmatched = unmatched.reindex(columns=["vendor_customer", "sku_guid", "sku_part_number",
                                           "source"])
    return LicenceReport(as_of, horizon, zone, seats_frame, acts, findings,
                         unmatched.reset_index(drop=True))


def _renewal_price(prices: pd.DataFrame, sku: str, term: str, currency: str) -> Decimal | None:
    hit = prices[prices["vendor_sku"].eq(sku.upper()) & prices["term"].eq(term.upper())
                 & prices["currency"].eq(currency.upper())]
    return hit["unit_cost"].iloc[0] if len(hit) else None


def _allowed_term(terms: pd.DataFrame, client_id: str, product_id: str) -> int | None:
    if not product_id or terms.empty:
        return None
    own = terms[terms["client_id"].eq(client_id) & terms["product_id"].eq(product_id)]
    if len(own):
        return int(own["term_months"].iloc[0])
    every = terms[terms["client_id"].eq("") & terms["product_id"].eq(product_id)]
    return int(every["term_months"].iloc[0]) if len(every) else None


def idle_cost_by_client(seats: pd.DataFrame) -> pd.DataFrame:
    """Idle seats' monthly cost per client and currency (the Microsoft view's chart).

    Returns:
        DataFrame (client_id, client_name, currency, idle, idle_cost), largest cost first;
        a tenant without a client is grouped under its tenant id.
    """
    rows = seats[seats["idle"].fillna(0).astype(int) > 0] if len(seats) else seats
    if rows.empty:
        return pd.DataFrame(columns=["client_id", "client_name", "currency", "idle",
                                     "idle_cost"])
    label = rows["client_id"].where(rows["client_id"].ne(""), "tenant " + rows["vendor_customer"])
    out = []
    for (client, name, cur), g in rows.assign(_c=label).groupby(
            ["_c", "client_name", "currency"], sort=True):
        known = [v for v in g["idle_cost"] if v is not None and not pd.isna(v)]
        out.append({"client_id": client, "client_name": name, "currency": cur,
                    "idle": int(g["idle"].sum()),
                    "idle_cost": sum(known, Decimal("0.00")) if known else None})
    frame = pd.DataFrame(out)
    return frame.assign(_s=frame["idle_cost"].map(lambda v: -(v or 0))).sort_values(
        ["_s", "client_id"], kind="stable").drop(columns="_s").reset_index(drop=True)


__all__ = [
    "ACTION_COLUMNS", "MONEY_SCALE", "SEAT_COLUMNS", "SHIPPED_SKUS", "LicenceInputs",
    "LicenceReport", "act_by", "idle_cost_by_client", "licence_inputs", "licence_options",
    "licence_report", "months_left", "read_renewal_prices", "read_sku_map", "read_terms",
    "renewal_instant",
]
