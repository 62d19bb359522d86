"""The demo's Microsoft licences: a subscriptions file and an assignments file per tenant in
the latest month, with one planted case of each licence finding kind.

Every Microsoft line of the month gets an annual (P1Y, billed monthly) Partner Center
subscription for its delivered seats, bought on a day in January-September 2026 (so its
commitment ends, and its 7-day cancellation window closed, outside the month and the 30-day
horizon), with every seat assigned in Graph. Then, as of the month's last day (2026-10-31):

* ``idle``: 3 seats bought but not assigned, the window long closed (unassigned_licences);
* ``window``: 5 seats added on 2026-10-29, refundable until 2026-11-05T10:15:00Z, 3 of the
  tenant's seats idle (unassigned_licences and an open reduction_window);
* ``lost``: a subscription bought on 2026-10-19 whose window closed at 2026-10-26T00:00:00Z
  (act-by 2026-10-25), 4 seats idle (unassigned_licences and a *lost* reduction_window);
* ``renewal``: a commitment ending 2026-11-14 that auto-renews for 2 seats fewer at the
  renewal price in ``mappings/microsoft_renewal_prices.csv`` (renewal_due with its price
  change), and ``renewal_off``: one ending 2026-11-20 with auto-renew off (renewal_due, price
  unknown);
* ``term``: an annual commitment ending 2027-05-31 for a client whose agreement is month to
  month (``mappings/agreement_terms.csv``): term_mismatch for the 8 months left.

Realistic mess: one tenant's counts come from Partner Center subscribed SKUs instead of Graph,
a Graph SKU the map does not know (Teams Exploratory, free), and a suspended subscription that
counts as nothing.

Ground truth rows are computed here from the plan's own figures (the months left are counted
by hand in the comments), never by running the rules.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from recon_helpers.demo.plan import PERIODS, Line, Month

GRAPH_SKUS = {  # PSA product -> Graph skuId, skuPartNumber (the shipped SKU map knows both)
    "M365-BP": ("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB"),
    "M365-BS": ("f245ecc8-75af-4f8e-b61f-27d8114de5f3", "O365_BUSINESS_PREMIUM"),
}
AVAILABILITY = {"M365-BP": "CFQ7TTC0K5DJ", "M365-BS": "CFQ7TTC0K8TS"}
TEAMS_EXPLORATORY = ("710779e8-3d4a-4c88-adb9-386c958d1fdd", "TEAMS_EXPLORATORY")
RENEWAL_PRICE = Decimal("19.80")  # M365-BP P1Y renews at this unit cost (was 18.70)


@dataclass
class Sub:
    """One Partner Center subscription of the demo."""

    line: Line
    quantity: int
    start: date
    term: str = "P1Y"
    status: str = "active"
    auto_renew: bool = True
    cancel_until: str = ""  # ISO instant; default start + 7 days
    refundable: list[tuple[int, str]] = field(default_factory=list)
    next_quantity: int | None = None

    @property
    def end(self) -> date:
        """Commitment end (inclusive): a year (or a month) from the start, less a day."""
        if self.term == "P1M":
            nxt = date(self.start.year + (self.start.month == 12), self.start.month % 12 + 1,
                       self.start.day)
        else:
            nxt = date(self.start.year + 1, self.start.month, self.start.day)
        return nxt - timedelta(days=1)


@dataclass
class LicencePlan:
    """The latest month's subscriptions and assignments per tenant, and the agreement terms."""

    subs: list[Sub]
    assigned: dict[tuple[str, str], int]  # (tenant, product) -> seats assigned
    pc_tenant: str  # the tenant whose counts come from Partner Center subscribed SKUs
    terms: list[tuple[str, str, str]]  # client identifier ("" = every client), product, term
    truth: list[dict[str, str]]


def _utc(d: date, time: str = "00:00:00") -> str:
    return f"{d.isoformat()}T{time}Z"


def _candidates(m: Month) -> list[Line]:
    """Microsoft lines that plant cleanly: a full-month charge, no other planted finding,
    not among the first lines (the NCE file's duplicate and re-saved rows copy those)."""
    planted = {(t["client_id"], t["product_id"]) for t in m.truth}
    lines = [ln for ln in m.lines if ln.product.vendor == "microsoft" and ln.delivered > 0]
    return [ln for ln in lines[3:]
            if ln.client.index % 5 != 0 and ln.seat_change_from is None
            and (ln.client.identifier, ln.product.product_id) not in planted
            and ln.delivered >= 8 and ln.agreed is not None]


def _pick(pool: list[Line], product: str, taken: set[str]) -> Line:
    for ln in pool:
        if ln.product.product_id == product and ln.client.identifier not in taken:
            taken.add(ln.client.identifier)
            return ln
    raise RuntimeError(f"demo: no Microsoft line of {product} left to plant on")  # plan bug


def _row(m: Month, kind: str, ln: Line, impact: Decimal | None) -> dict[str, str]:
    return {
        "period": m.period, "kind": kind, "client_id": ln.client.identifier,
        "product_id": ln.product.product_id,
        "impact": "" if impact is None else str(impact.quantize(Decimal("0.01"))),
        "currency": "USD", "vendor_customer": ln.client.ids["microsoft"],
        "vendor_sku": ln.product.vendor_sku,
    }


def plan_licences(m: Month) -> LicencePlan:
    """The month's licence files and planted findings (see the module docstring)."""
    subs: list[Sub] = []
    assigned: dict[tuple[str, str], int] = {}
    for ln in m.lines:
        if ln.product.vendor != "microsoft" or ln.delivered <= 0:
            continue
        i = ln.client.index + (ln.product.product_id == "M365-BS")
        subs.append(Sub(ln, int(ln.delivered), date(2026, 1 + i % 9, 1 + (i * 7) % 21)))
        assigned[(ln.client.ids["microsoft"], ln.product.product_id)] = int(ln.delivered)
    by_line = {id(s.line): s for s in subs}
    pool, taken = _candidates(m), set()
    truth: list[dict[str, str]] = []

    def key(ln: Line) -> tuple[str, str]:
        return (ln.client.ids["microsoft"], ln.product.product_id)

    # idle: 3 seats unassigned, nothing reducible
    ln = _pick(pool, "M365-BP", taken)
    assigned[key(ln)] -= 3
    truth.append(_row(m, "unassigned_licences", ln, -3 * ln.cost))  # type: ignore[operator]

    # window: 5 seats added 2026-10-29 and refundable until 2026-11-05 10:15 UTC; 3 idle.
    # Commitment 2026-03-15 .. 2027-03-14: months left from 2026-10-31 = Nov..Mar = 5
    ln = _pick(pool, "M365-BP", taken)
    s = by_line[id(ln)]
    s.start, s.refundable = date(2026, 3, 15), [(5, "2026-11-05T10:15:00Z")]
    assigned[key(ln)] -= 3
    truth.append(_row(m, "unassigned_licences", ln, -3 * ln.cost))  # type: ignore[operator]
    truth.append(_row(m, "reduction_window", ln, -3 * ln.cost * 5))  # type: ignore[operator]

    # lost: bought 2026-10-19, window closed 2026-10-26T00:00:00Z (act-by 2026-10-25); 4 idle.
    # Commitment 2026-10-19 .. 2027-10-18: months left from 2026-10-31 = Nov..Oct = 12
    ln = _pick(pool, "M365-BP", taken)
    s = by_line[id(ln)]
    s.start, s.cancel_until = date(2026, 10, 19), "2026-10-26T00:00:00Z"
    assigned[key(ln)] -= 4
    truth.append(_row(m, "unassigned_licences", ln, -4 * ln.cost))  # type: ignore[operator]
    truth.append(_row(m, "reduction_window", ln, -4 * ln.cost * 12))  # type: ignore[operator]

    # renewal: ends 2026-11-14, renews for 2 seats fewer at RENEWAL_PRICE (monthly change)
    ln = _pick(pool, "M365-BP", taken)
    s = by_line[id(ln)]
    s.start, s.next_quantity = date(2025, 11, 15), s.quantity - 2
    truth.append(_row(m, "renewal_due", ln,
                      -(RENEWAL_PRICE - ln.cost) * (s.quantity - 2)))  # type: ignore[operator]

    # renewal_off: ends 2026-11-20, auto-renew off; no renewal price known for the SKU
    ln = _pick(pool, "M365-BS", taken)
    s = by_line[id(ln)]
    s.start, s.auto_renew = date(2025, 11, 21), False
    truth.append(_row(m, "renewal_due", ln, None))

    # term: annual commitment 2026-06-01 .. 2027-05-31 on a month-to-month agreement.
    # Months left from 2026-10-31 = Nov..May = 7, and 31 May >= 31 Oct's day: 8
    ln = _pick(pool, "M365-BS", taken)
    s = by_line[id(ln)]
    s.start = date(2026, 6, 1)
    truth.append(_row(m, "term_mismatch", ln, -s.quantity * ln.cost * 8))  # type: ignore[operator]
    terms = [("", "M365-BP", "P1Y"), (ln.client.identifier, "M365-BS", "P1M")]

    # mess: a suspended subscription (bills nothing, counts as nothing) on a clean tenant
    ln = pool[-1] if pool[-1].client.identifier not in taken else pool[-2]
    subs.append(Sub(ln, 10, date(2025, 2, 1), status="suspended"))
    pc_tenant = next(p.client.ids["microsoft"] for p in pool
                     if p.client.identifier not in taken)
    return LicencePlan(subs, assigned, pc_tenant, terms, truth)


def latest_only(period: str) -> bool:
    """Whether a demo month carries licence files (only the latest does)."""
    return period == PERIODS[-1]


def subscription_record(s: Sub, rng: random.Random) -> dict[str, Any]:
    """One subscription as Partner Center's API returns it."""
    tenant = s.line.client.ids["microsoft"]
    sub_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    p = s.line.product
    cancel = s.cancel_until or _utc(s.start + timedelta(days=7))
    record: dict[str, Any] = {
        "id": sub_id,
        "entitlementId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "offerId": f"{p.vendor_sku}:{AVAILABILITY[p.product_id]}",
        "offerName": p.description,
        "friendlyName": p.description,
        "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"},
        "quantity": s.quantity,
        "unitType": "Licenses",
        "hasPurchasableAddons": False,
        "creationDate": _utc(s.start, "09:30:12.4170000"),
        "effectiveStartDate": _utc(s.start),
        "commitmentEndDate": _utc(s.end),
        "commitmentEndDateTime": _utc(s.end, "23:59:59"),
        "cancellationAllowedUntilDate": cancel,
        "status": s.status,
        "autoRenewEnabled": s.auto_renew,
        "isTrial": False,
        "billingType": "license",
        "billingCycle": "monthly",
        "termDuration": s.term,
        "refundOptions": [{"type": "Partial", "expiresAt": until} for _, until in s.refundable],
        "refundableQuantity": {
            "totalQuantity": sum(n for n, _ in s.refundable),
            "details": [{"quantity": n, "allowedUntilDateTime": until}
                        for n, until in s.refundable],
        },
        "isMicrosoftProduct": True,
        "partnerId": "",
        "contractType": "subscription",
        "publisherName": "Microsoft Corporation",
        "orderId": f"{rng.getrandbits(48):012x}",
        "attributes": {"etag": f"W/\"{rng.getrandbits(32):08x}\"", "objectType": "Subscription"},
        "links": {"self": {"uri": f"/customers/{tenant}/subscriptions/{sub_id}",
                           "method": "GET", "headers": []}},
    }
    if s.next_quantity is not None:
        product_id, sku_id = p.vendor_sku.split(":")
        record["scheduledNextTermInstructions"] = {
            "product": {"productId": product_id, "skuId": sku_id,
                        "availabilityId": AVAILABILITY[p.product_id],
                        "billingCycle": "monthly", "termDuration": s.term},
            "quantity": s.next_quantity,
        }
    return record


def subscriptions_doc(tenant: str, subs: list[Sub], rng: random.Random) -> dict[str, Any]:
    """A tenant's ``GET /v1/customers/{id}/subscriptions`` answer."""
    items = [subscription_record(s, rng) for s in subs]
    return {"totalCount": len(items), "items": items,
            "links": {"self": {"uri": f"/customers/{tenant}/subscriptions", "method": "GET",
                               "headers": []}},
            "attributes": {"objectType": "Collection"}}


def graph_doc(tenant: str, name: str, counts: list[tuple[str, str, int, int]]
              ) -> dict[str, Any]:
    """A tenant's Graph ``GET /v1.0/subscribedSkus`` answer; counts: (skuId, part number,
    prepaid, assigned)."""
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus",
        "value": [{
            "accountName": name,
            "accountId": tenant,
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "consumedUnits": used,
            "id": f"{tenant}_{guid}",
            "prepaidUnits": {"enabled": prepaid, "suspended": 0, "warning": 0, "lockedOut": 0},
            "servicePlans": [],
            "skuId": guid,
            "skuPartNumber": part,
            "subscriptionIds": [],
        } for guid, part, prepaid, used in counts],
    }


def pc_skus_doc(counts: list[tuple[str, str, str, int, int]]) -> dict[str, Any]:
    """A tenant's Partner Center ``GET /v1/customers/{id}/subscribedskus`` answer; counts:
    (skuId, part number, name, active, consumed)."""
    items = [{
        "availableUnits": active - used, "activeUnits": active, "consumedUnits": used,
        "suspendedUnits": 0, "totalUnits": active, "warningUnits": 0,
        "productSku": {"id": guid, "name": name, "skuPartNumber": part, "targetType": "User",
                       "licenseGroupId": "group1"},
        "servicePlans": [], "capabilityStatus": "Enabled",
        "attributes": {"objectType": "SubscribedSku"},
    } for guid, part, name, active, used in counts]
    return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}


def licence_files(m: Month, plan: LicencePlan) -> dict[str, dict[str, Any]]:
    """File name -> JSON document: per tenant its subscriptions and its assignments."""
    rng = random.Random(f"licences-{m.period}")
    by_tenant: dict[str, list[Sub]] = {}
    for s in plan.subs:
        by_tenant.setdefault(s.line.client.ids["microsoft"], []).append(s)
    files: dict[str, dict[str, Any]] = {}
    for tenant in sorted(by_tenant):
        subs = sorted(by_tenant[tenant], key=lambda s: (s.line.product.product_id, s.status))
        files[f"pc-subscriptions-{tenant}.json"] = subscriptions_doc(tenant, subs, rng)
        active = [s for s in subs if s.status == "active"]
        name = subs[0].line.client.name_at("microsoft")
        counts = [(*GRAPH_SKUS[s.line.product.product_id], s.quantity,
                   plan.assigned[(tenant, s.line.product.product_id)]) for s in active]
        if tenant == plan.pc_tenant:
            files[f"pc-subscribedskus-{tenant}.json"] = pc_skus_doc(
                [(g, p, s.line.product.description, n, u)
                 for (g, p, n, u), s in zip(counts, active, strict=True)])
        else:
            if tenant == min(by_tenant):  # a free SKU the map does not know
                counts.append((*TEAMS_EXPLORATORY, 100, 3))
            files[f"graph-subscribedskus-{tenant}.json"] = graph_doc(tenant, name, counts)
    return files
