"""The result of one month's reconciliation: the record every later stage reads, and how the
findings are finished (ordered, named, sourced, keyed, described) whichever engine found them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DISCREPANCY_COLUMNS
from recon_helpers.core.workspace import Settings
from recon_helpers.ingest.load import LoadedPeriod
from recon_helpers.reconcile.discrepancies import RULE_COLUMNS, find_discrepancies, order_findings
from recon_helpers.reconcile.holds import ORDER as HOLD_ORDER
from recon_helpers.reconcile.holds import MissingSource, describe_missing, hold_findings
from recon_helpers.reconcile.licences import LicenceInputs, LicenceReport, licence_report
from recon_helpers.reconcile.lineage import finding_sources
from recon_helpers.reconcile.matching import MonthTables
from recon_helpers.reconcile.names import normalise_name
from recon_helpers.reconcile.suggestions import client_suggestions, product_suggestions
from recon_helpers.reconcile.summary import Headline, headline

# ``hold``: why a finding is held (``source_missing``, ``pending_mapping``, ``quarantined_row``;
# "" when it is not): it counts in no money total until that is settled (audit/status.py turns
# it into the ``held`` status; ``detail`` explains it).
FINDING_COLUMNS = (*DISCREPANCY_COLUMNS, "key", "detail", "hold")


@dataclass(frozen=True)
class Blockers:
    """What stands between the month and its sign-off, before any figure is read: missing or
    stale sources, unmapped (or ambiguous) vendor customers with the findings waiting on them,
    held findings by reason, and the vendor customers ignore.csv sets aside."""

    missing: tuple[str, ...]  # describe_missing() lines
    unmapped_customers: int
    waiting_on_mapping: int  # findings held pending_mapping
    unmapped_skus: int
    held: tuple[tuple[str, int], ...]  # (reason, findings), in holds.ORDER
    ignored: pd.DataFrame  # vendor, vendor_customer_id, vendor_customer_name, ignore_reason

    @property
    def clear(self) -> bool:
        """Nothing missing, unmapped or held."""
        return not (self.missing or self.unmapped_customers or self.unmapped_skus or self.held)

    def lines(self, period: Period) -> list[str]:
        """The sentences the CLI prints and the report leads with."""
        out = list(self.missing)
        if self.unmapped_customers:
            out.append(f"unmapped customers: {self.unmapped_customers} "
                       f"({self.waiting_on_mapping} findings wait on them; "
                       f"recon map --period {period} lists them with suggestions)")
        if self.unmapped_skus:
            out.append(f"unmapped SKUs: {self.unmapped_skus} (recon map --period {period})")
        if self.held:
            out.append("held findings (counted in no total until settled): " + ", ".join(
                f"{n} {reason}" for reason, n in self.held))
        return out


@dataclass(frozen=True)
class Reconciliation:
    """Everything one month's reconciliation produced, for the CLI, notebooks and report.

    Frozen: built once by :func:`assemble`; later stages read it and derive new tables.
    """

    period: Period
    settings: Settings
    loaded: LoadedPeriod
    clients: pd.DataFrame  # known_clients()
    customers: pd.DataFrame  # map_customers(): one row per vendor customer
    month: MonthTables
    three_way: pd.DataFrame
    findings: pd.DataFrame  # FINDING_COLUMNS
    client_suggestions: pd.DataFrame
    product_suggestions: pd.DataFrame
    # "duckdb": month.delivered (and loaded.delivered) hold only the vendor lines behind the
    # findings; the month's rows per vendor are in coverage_rows (see engine_duckdb.py)
    engine: str = "pandas"
    coverage_rows: pd.DataFrame | None = None
    # sources the month expects that are absent or stale (reconcile/expectations.py)
    missing: tuple[MissingSource, ...] = ()
    # Microsoft seats, windows and renewals (reconcile/licences.py); its findings are in
    # ``findings`` too
    licences: LicenceReport | None = None

    def coverage(self) -> pd.DataFrame:
        """Mapping coverage per vendor: customers and rows mapped by each method."""
        rows = self.coverage_rows if self.coverage_rows is not None else delivered_coverage(
            self.month.delivered)
        cust = self.customers.assign(
            method=self.customers["client_method"].replace("", "unmapped")
        ).pivot_table(index="vendor", columns="method", values="cust_key", aggfunc="count",
                      fill_value=0)
        cust.columns = [f"customers_{c}" for c in cust.columns]
        return rows.join(cust).reset_index()

    def blockers(self) -> Blockers:
        """What the auditor must settle first (:class:`Blockers`)."""
        f, cust = self.findings, self.customers
        reasons = f["hold"][f["hold"].ne("")].value_counts()
        return Blockers(
            missing=tuple(describe_missing(m) for m in self.missing),
            unmapped_customers=int(cust["client_method"].isin(["", "ambiguous"]).sum()),
            waiting_on_mapping=int(f["detail"].str.contains("pending_mapping:",
                                                            regex=False).sum()),
            unmapped_skus=int(f["kind"].eq("unmapped_product").sum()),
            held=tuple((r, int(reasons[r])) for r in HOLD_ORDER if r in reasons),
            ignored=cust.loc[cust["client_method"].eq("ignored"),
                             ["vendor", "vendor_customer_id", "vendor_customer_name",
                              "ignore_reason"]].reset_index(drop=True),
        )

    def check_clients(self, client_ids: Sequence[str], what: str) -> None:
        """Refuse client ids the month does not know.

        Args:
            what: where the ids came from (``--client``, ``parameter client_ids``).

        Raises:
            UsageError: names the unknown ids and some known ones.
        """
        unknown = sorted(set(client_ids) - set(self.clients["client_id"]))
        if unknown:
            known = ", ".join(self.clients["client_id"].head(8))
            raise UsageError(f"{what}: no client {unknown} in {self.period} "
                             f"(known ids include {known})")

    def headline(self, client_ids: Sequence[str] = ()) -> Headline:
        """The headline figures of the findings in scope (all clients when empty)."""
        findings = self.findings
        if client_ids:
            findings = findings[findings["client_id"].isin(list(client_ids))]
        clients = len(client_ids) if client_ids else len(self.clients)
        return headline(findings.reset_index(drop=True), self.loaded.inventory, clients)


def delivered_coverage(d: pd.DataFrame) -> pd.DataFrame:
    """Vendor lines per vendor, and how many are mapped to a client and to a product."""
    return d.assign(
            mapped_client=d["client_id"].ne(""), mapped_product=d["product_id"].ne("")
        ).groupby("vendor").agg(
            rows=("source", "size"),
            rows_client_mapped=("mapped_client", "sum"),
            rows_product_mapped=("mapped_product", "sum"),
        )


def assemble(
    loaded: LoadedPeriod,
    settings: Settings,
    clients: pd.DataFrame,
    customers: pd.DataFrame,
    month: MonthTables,
    tw: pd.DataFrame,
    unmapped: pd.DataFrame,
    unmapped_rows: pd.DataFrame,
    product_map: pd.DataFrame,
    *,
    discrepancies: pd.DataFrame | None = None,
    missing: tuple[MissingSource, ...] = (),
    engine: str = "pandas",
    coverage_rows: pd.DataFrame | None = None,
    licence_inputs: LicenceInputs | None = None,
) -> Reconciliation:
    """Findings from the three-way table and the unmapped findings, finished and ordered.

    Shared by both engines: everything here is key-sized (client x product), so it runs in
    pandas whichever engine did the line-sized work.

    Args:
        unmapped: :func:`unmapped_findings` output.
        unmapped_rows: vendor lines with a client but no product (their SKUs get suggestions).
        product_map: read_product_map() (which vendor backs which product, for the holds).
        discrepancies: find_discrepancies(tw) when the caller has it already.
        missing: the sources the month expects that are missing or stale.
        engine: which engine did the line-sized work ("pandas", "duckdb").
        coverage_rows: the DuckDB engine's vendor lines per vendor (its month.delivered holds
            only the lines behind the findings).
        licence_inputs: as-of date, horizon and mapping files of the licence rules
            (licences.licence_inputs); default: as of the period's last day, shipped SKU map.
    """
    period = loaded.period
    if discrepancies is None:
        discrepancies = find_discrepancies(tw, settings, has_invoices=not loaded.billed.empty)
    parts = [p for p in (discrepancies, unmapped) if len(p)]
    findings = (pd.concat(parts, ignore_index=True) if parts
                else pd.DataFrame(columns=[*RULE_COLUMNS, "cust_key"]))
    if "cust_key" not in findings:
        findings["cust_key"] = ""
    findings["cust_key"] = findings["cust_key"].fillna("")
    findings = _finish(findings, clients, month, period)
    licences = licence_report(
        loaded.tables, customers, clients, month.promised, month.billed, tw, product_map,
        licence_inputs or LicenceInputs(as_of=period.last), period,
        (*FINDING_COLUMNS,), settings.currency)
    if len(licences.findings):  # after SPEC's kinds, in LICENCE_KINDS order
        findings = pd.concat([findings, licences.findings], ignore_index=True)
    products = pd.concat([loaded.catalogue[["product_id", "description"]],
                          loaded.promised[["product_id", "description"]]])
    suggested = client_suggestions(customers, clients, min_score=settings.fuzzy_min_score)
    product_suggested = product_suggestions(unmapped_rows, products)
    findings = explain_unmapped(findings, customers, clients, suggested, product_suggested)
    findings = hold_findings(findings, missing, product_map, customers, suggested,
                             loaded.quarantine)
    return Reconciliation(
        period=period,
        settings=settings,
        loaded=loaded,
        clients=clients,
        customers=customers,
        month=month,
        three_way=tw,
        findings=findings[list(FINDING_COLUMNS)],
        client_suggestions=suggested,
        product_suggestions=product_suggested,
        engine=engine,
        coverage_rows=coverage_rows,
        missing=missing,
        licences=licences,
    )


def _finish(
    findings: pd.DataFrame, clients: pd.DataFrame, month: MonthTables, period: Period
) -> pd.DataFrame:
    for col in ("client_id", "product_id", "vendor", "vendor_customer", "vendor_sku", "currency"):
        findings[col] = findings[col].fillna("").astype(object)
    findings = order_findings(findings)
    names = clients.set_index("client_id")["client_name"]
    findings["client_name"] = findings["client_id"].map(names).astype(object).fillna("")
    findings["period"] = str(period)
    findings["sources"] = finding_sources(findings, month)
    findings["key"] = (
        findings["kind"] + "|" + findings["client_id"] + "|" + findings["product_id"] + "|"
        + findings["vendor"] + "|" + findings["vendor_customer"] + "|" + findings["vendor_sku"]
        + "|" + findings["currency"]
    )
    cols = list(findings.columns)  # rows as light mappings: describe() per row, not apply()
    rows = findings.itertuples(index=False, name=None)
    findings["detail"] = [describe(_Row(zip(cols, r, strict=True)))  # type: ignore[arg-type]
                          for r in rows] if len(findings) else ""
    if "hold" not in findings:
        findings["hold"] = ""
    return findings[[*FINDING_COLUMNS, "cust_key"]]  # cust_key: for explain_unmapped


class _Row(dict):  # type: ignore[type-arg]
    """A finding as a dict that also answers attribute access, as a Series row does."""

    __getattr__ = dict.__getitem__


def _n(value: Decimal | None) -> str:
    return "?" if value is None else f"{value:,f}"


def describe(f: pd.Series) -> str:
    """One plain sentence explaining a finding, for auditors and reviewers."""
    cur = f["currency"]
    texts = {
        "under_billed": f"vendor reports {_n(f.vendor_qty)}, agreement covers {_n(f.agreement_qty)}"
        f" at {_n(f.unit_price)} {cur}",
        "over_billed": f"vendor reports {_n(f.vendor_qty)}, agreement bills {_n(f.agreement_qty)}"
        f" at {_n(f.unit_price)} {cur}",
        "unbilled_service": f"vendor reports {_n(f.vendor_qty)} with no live agreement line",
        "billed_not_delivered": f"agreement bills {_n(f.agreement_qty)}; the vendor reports none",
        "invoice_mismatch": f"agreement {_n(f.agreement_qty)} at {_n(f.unit_price)} {cur}, "
        f"invoiced {_n(f.invoiced_qty)}",
        "price_mismatch": f"agreement price {_n(f.unit_price)} {cur} differs from the invoice",
        "negative_margin": f"price {_n(f.unit_price)} below vendor cost {_n(f.unit_cost)} {cur}",
        "unmapped_customer": f"{f.vendor} customer {f.vendor_customer!s} is not mapped to a client",
        "unmapped_product": f"{f.vendor} SKU {f.vendor_sku!s} is not mapped to a product",
    }
    return texts.get(f["kind"], "")


def _suggested(rows: pd.DataFrame, id_col: str, name_col: str) -> str:
    best = rows.sort_values("rank").head(3)
    return "; ".join(f"{n} ({i}, score {s})" for i, n, s in
                     zip(best[id_col], best[name_col], best["score"], strict=True))


def explain_unmapped(findings: pd.DataFrame, customers: pd.DataFrame, clients: pd.DataFrame,
                     suggested: pd.DataFrame, product_suggested: pd.DataFrame
                     ) -> pd.DataFrame:
    """The detail of each unmapped finding: who the vendor customer (or SKU) is, what it
    delivered and costs, whether its name is ambiguous, and the best suggestions with scores:
    the same sentence in the CLI, the CSV, the notebooks and the report."""
    out = findings.copy()
    by_key = customers.set_index("cust_key")
    names = clients.set_index("client_id")["client_name"]
    norm_clients = clients.groupby("norm_name")["client_id"].agg(list)
    for i in out.index[out["kind"].eq("unmapped_customer")]:
        f = out.loc[i]
        cust = by_key.loc[f["cust_key"]] if f["cust_key"] in by_key.index else None
        name = str(cust["vendor_customer_name"]) if cust is not None else ""
        ident = str(cust["vendor_customer_id"]) if cust is not None else f["vendor_customer"]
        who = f"{name!r} (id {ident})" if name and ident else repr(name or ident)
        cost = (f", cost at risk {f['impact']:,f} {f['currency']}"
                if f["impact"] is not None and not pd.isna(f["impact"]) else "")
        text = (f"{f['vendor']} customer {who} is not mapped to a client: "
                f"{_n(f['vendor_qty'])} units of {f['vendor_sku'] or '?'}{cost}")
        if cust is not None and cust["client_method"] == "ambiguous":
            twins = norm_clients.get(normalise_name(name), [])
            text += ("; its name matches several clients (" + ", ".join(
                f"{names.get(c, c)} ({c})" for c in twins) + "): ambiguous, map it by id")
        mine = suggested[suggested["vendor"].eq(cust["vendor"] if cust is not None else "")
                         & suggested["vendor_customer_id"].eq(ident)
                         & suggested["vendor_customer_name"].eq(name)]
        if len(mine):
            text += "; suggestions: " + _suggested(mine, "client_id", "client_name")
        out.at[i, "detail"] = text
    for i in out.index[out["kind"].eq("unmapped_product")]:
        f = out.loc[i]
        mine = product_suggested[product_suggested["vendor"].eq(f["vendor"])
                                 & product_suggested["vendor_sku"].eq(f["vendor_sku"])]
        if len(mine):
            out.at[i, "detail"] = (f"{out.at[i, 'detail']}; suggestions: "
                                   + _suggested(mine, "product_id", "description"))
    return out
