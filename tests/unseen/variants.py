"""Months that differ from the base in one way, each with the findings it must give.

Every function returns ``(month, expected)``: the plan to write and the findings the
documented rules give on it, with the statuses issue 12 asks for (``held`` and its reason).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from tests.unseen.expected import Expected, evaluate, hold
from tests.unseen.model import Client, Customer, Line, Month
from tests.unseen.plan import build_month, customer_id
from tests.unseen.roster import MS_SKUS, guid
from tests.unseen.workspace import PERIOD, base_month
from tests.unseen.write_microsoft import ordered_lines


def _with_customers(month: Month, extra: list[tuple[Customer, Line]]) -> Month:
    return month.with_(customers=month.customers + tuple(c for c, _ in extra),
                       lines=month.lines + tuple(ln for _, ln in extra))


def _org(name: str, agents: int) -> tuple[Customer, Line]:
    """A Huntress organization that is nobody's client."""
    cid = customer_id("huntress", "extra:" + name)
    return Customer("huntress", cid, name, ""), Line("huntress", cid, "agents", Decimal(agents))


AMBIGUOUS_ORG = "Smith and Sons"


def ambiguous() -> tuple[Month, list[Expected]]:
    """A second PSA company whose name normalises like Smith and Sons Pty Ltd's.

    The existing Smith and Sons vendor customers are pinned by id in clients.csv; one new
    Huntress org "Smith and Sons" matches both companies and must not be auto-mapped.
    """
    base = base_month()
    twin = Client("SmithSonsUK", "Smith & Sons Limited", 19499)
    pins = tuple((c.vendor, c.customer_id, c.name, "SmithSons")
                 for c in base.customers_of("SmithSons"))
    month = _with_customers(base, [_org(AMBIGUOUS_ORG, 4)])
    month = month.with_(clients=(*month.clients, twin), client_map=month.client_map + pins)
    return month, evaluate(month)


FUZZY_NAME = "Pinecrest Ortho Group"


def fuzzy_unmapped() -> tuple[Month, list[Expected]]:
    """Pinecrest Orthodontics' Microsoft tenant named "Pinecrest Ortho Group": no rule maps
    it, so its seats are unmapped and Pinecrest's Microsoft products look undelivered; those
    findings wait on the mapping (``held``, ``pending_mapping``)."""
    month = build_month(PERIOD, names={("Pinecrest", "microsoft"): FUZZY_NAME})
    tenant = customer_id("microsoft", "Pinecrest")
    found = evaluate(month, unmapped={("microsoft", tenant)})
    return month, hold(found, "pending_mapping", lambda f: f.client_id == "Pinecrest"
                       and f.kind == "billed_not_delivered")


def accepted(month: Month) -> Month:
    """``month`` once the fuzzy tenant's mapping is confirmed into clients.csv."""
    tenant = customer_id("microsoft", "Pinecrest")
    return month.with_(client_map=(*month.client_map,
                                   ("microsoft", tenant, FUZZY_NAME, "Pinecrest")))


def missing_source(vendor: str = "huntress") -> tuple[Month, list[Expected]]:
    """The month without one vendor's export: its products' findings are held."""
    base = base_month()
    month = base.with_(lines=tuple(ln for ln in base.lines if ln.vendor != vendor))
    backed = {p for v, _, p in base.product_map if v == vendor}
    found = evaluate(month)
    return base, hold(found, "source_missing", lambda f: f.product_id in backed
                      and f.kind in ("billed_not_delivered", "over_billed", "under_billed"))


def ignored() -> tuple[Month, list[Expected]]:
    """mappings/ignore.csv lists the Datto default site: no finding for it."""
    base = base_month()
    site = next(c for c in base.customers if c.name == "Deleted Devices")
    month = base.with_(ignore=(("datto_rmm", site.customer_id, site.name,
                                "Datto default site for deleted devices"),))
    return month, evaluate(month)


UNMAPPED_TENANT = "Quasar Robotics Inc"


def unmapped_sku_on_unmapped_tenant() -> tuple[Month, list[Expected]]:
    """A Microsoft tenant nobody mapped buying a SKU nobody mapped: both are findings."""
    base = base_month()
    sku = MS_SKUS["DEFENDER"]
    cid = guid("microsoft", "extra:quasar")
    cycle = next(ln.cycle for ln in base.lines if ln.vendor == "microsoft")
    line = Line("microsoft", cid, sku.key, Decimal(5), sku.effective_price, cycle[0], cycle[1],  # type: ignore[index]
                "cycleCharge", guid("ms-subscription", "quasar"), cycle)
    cust = Customer("microsoft", cid, UNMAPPED_TENANT, "", domain="quasarrobotics.onmicrosoft.com")
    month = _with_customers(base, [(cust, line)])
    return month, evaluate(month)


CREDIT_CLIENT = ("Willowmere", "PPT-ESS")


def pax8_credit() -> tuple[Month, list[Expected]]:
    """Willowmere's Proofpoint: 25 seats, 5 removed on the 20th (a prorated credit). The
    writer gives the credit a negative quantity *and* negative price and cost; the truth (and
    the expectation) is a credit of 5 seats at the positive unit cost."""
    base = base_month()
    company = customer_id("pax8", "Willowmere")
    lines = [ln for ln in base.lines if not (ln.vendor == "pax8" and ln.customer_id == company)]
    sub = next(ln for ln in base.lines if ln.vendor == "pax8" and ln.customer_id == company)
    charge = replace(sub, qty=Decimal(25))
    credit = replace(sub, qty=Decimal(-5), start=sub.start.replace(day=20),  # type: ignore[union-attr]
                     charge_type="prorate", exclusive_end=False)
    month = base.with_(lines=(*lines, charge, credit))
    return month, evaluate(month)


QUARANTINED = ("Granger", "EDR-AGENT")


def addition_without_quantity() -> tuple[Month, list[Expected], int]:
    """Granger's EDR addition exported without its quantity.

    Returns:
        (month, the findings on every other key, the addition's 1-based row in the file)
    """
    base = base_month()
    adds = list(base.additions)
    row = next(i for i, a in enumerate(adds) if (a.client_id, a.product_id) == QUARANTINED)
    adds[row] = replace(adds[row], qty=None)
    others = [f for f in evaluate(base) if (f.client_id, f.product_id) != QUARANTINED]
    return base.with_(additions=tuple(adds)), others, row + 1


def partner_center_cut(rows: int) -> tuple[Month, set[str]]:
    """The base month whose Partner Center file lost its last ``rows`` records.

    Returns:
        (the month as the cut file tells it, the clients whose lines were lost)
    """
    base = base_month()
    lost = ordered_lines(base)[-rows:]
    gone = {id(ln) for ln in lost}
    short = base.with_(lines=tuple(ln for ln in base.lines if id(ln) not in gone))
    return short, {base.customer(ln.vendor, ln.customer_id).client_id for ln in lost}
