"""Autotask (Datto) PSA REST exports: Companies, Contracts, ContractServices, units, Services.

Every file is a REST query response ``{"items": [...], "pageDetails": {...}}``; field names
are camelCase with an ``ID`` suffix (``companyID``). Signatures tell the entities apart
(Acronis usages share the ``items`` envelope but none of these keys).

The LINKER builds PROMISED rows from ContractServiceUnits (one row per billing period, split
at mid-period unit adjustments): client = the contract's ``companyID``, product = ``serviceID``,
quantity = ``units``, dates = the row's ``startDate``..``endDate``; and BILLED rows from the
Invoices and BillingItems files (:mod:`recon_helpers.ingest.loaders.autotask_billing`).

Decisions:
    * Dates are local midnight written in UTC (``2012-10-24T05:00:00.000Z``): parsed with
      ``iso_local_midnight`` (``[autotask] timezone`` in recon.toml, else nearest day).
    * ``price`` / ``cost`` on a ContractServiceUnit are the extended amounts for its units
      (verified on live tenants, WYRE-AI/autotask-mcp#284). The unit price is the contract
      service's ``unitPrice`` when units x unitPrice reproduces ``price`` exactly; the row's
      ``price`` itself when it equals ``unitPrice`` (a tenant storing per-unit prices);
      otherwise price / units rounded half away from zero to MONEY_SCALE. Same for cost.
    * A split row whose ``endDate`` is the next row's ``startDate`` (the adjustment's
      effective date, as Autotask documents it) ends the day before, so pieces never overlap;
      no row runs past its contract's ``endDate``.
    * Every contract service unit is billable; currency is the file's (recon.toml) currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import pandas as pd

from recon_helpers.core.schemas import CATALOGUE, CLIENTS, PROMISED, QTY_SCALE
from recon_helpers.ingest.loaders import autotask_billing
from recon_helpers.ingest.loaders.base import Linker, LinkResult, SourceFormat
from recon_helpers.ingest.loaders.connectwise import mul_div_round
from recon_helpers.ingest.loaders.linking import (
    client_of,
    concat_quarantine,
    identify_through,
    join_referenced,
    psa_parser,
    reference_table,
)
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Field, LoadOptions

FAMILY = "autotask"
CONTRACTS = "autotask.contracts"
CONTRACT_SERVICES = "autotask.contract_services"
UNITS = "autotask.contract_service_units"

_LOCAL = "iso_local_midnight"

COMPANY_FIELDS = (
    Field("client_id", ("id",), "id", required=True),
    Field("client_name", ("companyName",), "text"),
)
SERVICE_FIELDS = (
    Field("product_id", ("id",), "id", required=True),
    Field("description", ("name",), "text"),
    Field("unit_price", ("unitPrice",), "money"),
    Field("unit_cost", ("unitCost",), "money"),
)
CONTRACT_FIELDS = (
    Field("contract_id", ("id",), "id", required=True),
    Field("company_id", ("companyID",), "id", required=True),
    Field("contract_name", ("contractName",), "text"),
    Field("contract_number", ("contractNumber",), "text"),
    Field("contract_type", ("contractType",), "text"),
    Field("status", ("status",), "text"),
    Field("start_date", ("startDate",), "date", date_format=_LOCAL),
    Field("end_date", ("endDate",), "date", date_format=_LOCAL),
)
CONTRACT_SERVICE_FIELDS = (
    Field("contract_service_id", ("id",), "id", required=True),
    Field("contract_id", ("contractID",), "id", required=True),
    Field("service_id", ("serviceID",), "id", required=True),
    Field("unit_price", ("unitPrice",), "money"),
    Field("unit_cost", ("unitCost",), "money"),
    Field("invoice_description", ("invoiceDescription",), "text"),
)
UNIT_FIELDS = (
    Field("unit_row_id", ("id",), "id", required=True),
    Field("contract_id", ("contractID",), "id", required=True),
    Field("contract_service_id", ("contractServiceID",), "id"),
    Field("service_id", ("serviceID",), "id", required=True),
    Field("units", ("units",), "quantity", required=True),
    Field("price", ("price",), "money"),
    Field("cost", ("cost",), "money"),
    Field("start_date", ("startDate",), "date", date_format=_LOCAL),
    Field("end_date", ("endDate",), "date", date_format=_LOCAL),
)


# no field maps to ``currency``: Autotask has a currencyID picklist, never a code, so with
# ``currency=True`` every row gets the file's (recon.toml) currency
_parse = partial(psa_parser, family=FAMILY)


def _own(frame: pd.DataFrame | None, key: str) -> pd.DataFrame | None:
    """Rows an Autotask file contributed to a shared table, one per ``key``."""
    if frame is None or "psa" not in frame:
        return None
    return frame[frame["psa"].eq(FAMILY)].drop_duplicates(key)


def _per_unit(total: pd.Series, units: pd.Series, listed: pd.Series) -> pd.Series:
    """Unit amount from an extended CSU amount (see the module docstring for the rule)."""
    extended_ok = mul_div_round(units, listed, QTY_SCALE).eq(total).fillna(False)
    stored_per_unit = (listed.eq(total).fillna(False) & ~extended_ok).astype(bool)
    derived = mul_div_round(total, QTY_SCALE, units).fillna(listed)
    out = derived.mask(extended_ok.astype(bool), listed)
    return out.mask(stored_per_unit, total)


def _end_before_next(units: pd.DataFrame) -> pd.Series:
    """``end_date``, cut to the day before the next row of the same service when they touch."""
    key = units["contract_service_id"].where(
        units["contract_service_id"].ne(""), units["contract_id"] + "|" + units["service_id"]
    )
    order = units.assign(_key=key).sort_values(["_key", "start_date"], kind="stable")
    following = order.groupby("_key", sort=False)["start_date"].shift(-1)
    touches = (
        order["end_date"].notna()
        & following.notna()
        & following.gt(order["start_date"])
        & order["end_date"].ge(following)
    )
    cut = order["end_date"].mask(touches, following - pd.Timedelta(days=1))
    return cut.reindex(units.index)


def link(entities: Mapping[str, pd.DataFrame], options: LoadOptions) -> LinkResult:
    """Build PROMISED rows from contract service units and BILLED rows from billing items.

    Returns:
        LinkResult with ``promised``, ``billed`` and the units and billing items frames without
        the rows quarantined (contract, invoice or contract service not loaded; billing items
        that are not invoiced service charges).
    """
    promised = _link_promised(entities)
    billed, items, q_billed = autotask_billing.link_billed(entities, CONTRACT_SERVICES)
    tables = {**promised.tables, "billed": billed}
    if items is not None:
        tables[autotask_billing.BILLING_ITEMS] = items
    return LinkResult(tables, concat_quarantine(promised.quarantine, q_billed))


def _link_promised(entities: Mapping[str, pd.DataFrame]) -> LinkResult:
    """PROMISED rows from contract service units joined to their contract.

    Returns:
        LinkResult with ``promised`` and the units frame without the rows whose contract is not
        loaded (quarantined as ``unknown_reference``).
    """
    units = entities.get(UNITS)
    if units is None or units.empty:
        return LinkResult({"promised": PROMISED.empty()})
    contracts = reference_table(
        entities.get(CONTRACTS), "contract_id", ["contract_id", "company_id", "end_date"],
        dates=["end_date"],
    )
    rows, kept, q = join_referenced(
        units, contracts.rename(columns={"end_date": "contract_end"}), "contract_id",
        "contractID {value} matches no usable row of the loaded contracts",
    )
    rows["client_id"] = rows["company_id"]
    companies = _own(entities.get(CLIENTS.name), "client_id")
    names = companies.set_index("client_id")["client_name"] if companies is not None else {}
    rows["client_name"] = rows["client_id"].map(names).astype(object).fillna("")

    services = entities.get(CONTRACT_SERVICES)
    by_cs = (
        services.drop_duplicates("contract_service_id").set_index("contract_service_id")
        if services is not None
        else pd.DataFrame(columns=["unit_price", "unit_cost", "invoice_description"])
    )
    listed_price = rows["contract_service_id"].map(by_cs["unit_price"]).astype("Int64")
    listed_cost = rows["contract_service_id"].map(by_cs["unit_cost"]).astype("Int64")
    invoice_text = (
        rows["contract_service_id"].map(by_cs["invoice_description"]).astype(object).fillna("")
    )
    catalogue = _own(entities.get(CATALOGUE.name), "product_id")
    catalogue_name = (
        rows["service_id"].map(catalogue.set_index("product_id")["description"])
        if catalogue is not None
        else pd.Series(pd.NA, index=rows.index)
    )
    rows["description"] = catalogue_name.fillna(invoice_text).astype(object)

    rows["agreement_id"] = rows["contract_id"]
    rows["product_id"] = rows["service_id"]
    rows["quantity"] = rows["units"].astype("int64")
    rows["less_included"] = 0
    rows["unit_price"] = _per_unit(rows["price"], rows["units"], listed_price)
    rows["unit_cost"] = _per_unit(rows["cost"], rows["units"], listed_cost)
    rows["effective_date"] = rows["start_date"]
    # a unit row is not live past its contract either
    rows["cancelled_date"] = pd.concat([_end_before_next(rows), rows["contract_end"]], axis=1).min(
        axis=1, skipna=True
    )
    rows["billable"] = True
    # the ids recon apply writes back to (schemas.PROMISED); units rows carry no version
    rows["psa"] = FAMILY
    rows["psa_agreement_id"] = rows["contract_id"]
    rows["psa_line_id"] = rows["contract_service_id"]
    rows["psa_service_id"] = rows["service_id"]
    return LinkResult({"promised": PROMISED.conform(rows), UNITS: kept}, concat_quarantine(q))


_JSON = frozenset({"json"})

FORMATS: tuple[SourceFormat, ...] = (
    SourceFormat(
        "autotask_companies", CLIENTS.name, frozenset({"id", "companyName", "companyType"}),
        _parse(COMPANY_FIELDS, psa_marker=True), kinds=_JSON, container="items",
        record_id="id", description="Autotask Companies query (client_id = id)",
    ),
    SourceFormat(
        "autotask_contracts", CONTRACTS,
        frozenset({"id", "companyID", "contractName", "contractType"}),
        _parse(CONTRACT_FIELDS), kinds=_JSON, container="items", record_id="id",
        description="Autotask Contracts query",
    ),
    SourceFormat(
        "autotask_contract_services", CONTRACT_SERVICES,
        frozenset({"id", "contractID", "serviceID", "unitPrice"}),
        _parse(CONTRACT_SERVICE_FIELDS), kinds=_JSON, container="items", record_id="id",
        excludes=frozenset({"contractServiceID", "units"}),
        description="Autotask ContractServices query",
    ),
    SourceFormat(
        "autotask_contract_service_units", UNITS,
        frozenset({"id", "contractID", "contractServiceID", "serviceID", "units", "price"}),
        _parse(UNIT_FIELDS, currency=True), kinds=_JSON, container="items", record_id="id",
        description="Autotask ContractServiceUnits query (quantity per billing period)",
    ),
    SourceFormat(
        "autotask_services", CATALOGUE.name,
        frozenset({"id", "name", "unitPrice", "periodType"}),
        _parse(SERVICE_FIELDS, psa_marker=True, currency=True), kinds=_JSON,
        container="items", record_id="id", excludes=frozenset({"contractID"}),
        description="Autotask Services catalogue (product_id = id)",
    ),
    *autotask_billing.FORMATS,
)

def identify(quarantine: pd.DataFrame, raws: Mapping[str, Sequence[RawTable]],
             entities: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Client and product of quarantined Autotask rows: units and contract services reach
    their company through the contract, billing items name theirs (else their invoice's)."""
    companies = client_of(entities.get(CONTRACTS), "contract_id", "company_id")
    q = quarantine
    for entity in (UNITS, CONTRACT_SERVICES):
        q = identify_through(q, raws.get(entity, ()), ("contractID",), companies, ("serviceID",))
    q = identify_through(q, raws.get(CONTRACTS, ()), (), companies, client=("companyID",))
    invoices = client_of(entities.get(autotask_billing.INVOICES), "invoice_id", "company_id")
    return identify_through(q, raws.get(autotask_billing.BILLING_ITEMS, ()), ("invoiceID",),
                            invoices, ("serviceID",), client=("companyID",))


LINKER = Linker(
    FAMILY,
    frozenset({CONTRACTS, CONTRACT_SERVICES, UNITS, autotask_billing.INVOICES,
               autotask_billing.BILLING_ITEMS}),
    link,
    identify,
)
