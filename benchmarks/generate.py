"""Deterministic scale workspaces for the benchmark: N clients, M delivered lines, one month.

``--months K`` adds the K - 1 months before it (same clients and mappings, discrepancies drawn
afresh), for the report's trends notebook.

Writes a workspace the ``recon`` pipeline reads as is::

    <out>/inputs/<period>/delivered.csv   canonical delivered (vendor usage), M lines
    <out>/inputs/<period>/promised.csv    one agreement line per client x product (+ old ones)
    <out>/inputs/<period>/billed.csv      one invoice line per agreement line
    <out>/inputs/<period>/clients.csv     the PSA clients
    <out>/inputs/<period>/catalogue.csv   list prices (values unbilled services)
    <out>/mappings/clients.csv            vendor customers mapped by id or by name
    <out>/mappings/products.csv           vendor SKU -> product (GB billed per TB: 1024)
    <out>/ground_truth.csv                the planted discrepancies (kind, client, product, ...)
    <out>/customer_ids.csv                every vendor customer id and its client (the floor's map)
    <out>/partner_center/<period>/G...csv with ``--partner-center``: the same M lines as a
                                          Microsoft Partner Center NCE reconciliation CSV

Most vendor customers carry their client's name (exactly or with a legal suffix or other
case), so automatic mapping by normalised name finds them; some are mapped by id or by name in
mappings/clients.csv. A share of the client x product keys (``--rate``, default 3 %) carries a
planted discrepancy of one of the SPEC kinds; a few vendor customers and SKUs are unmapped.
Rows are streamed to disk client by client: memory stays flat whatever M is.

Example:
    python benchmarks/generate.py --out benchmarks/out/ws-1m --lines 1000000 --partner-center
    python benchmarks/generate.py --out benchmarks/out/report-500 --clients 500 --lines 200000 \
        --months 2
"""

from __future__ import annotations

import argparse
import calendar
import csv
import json
import random
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from recon_helpers.core.schemas import DISCREPANCY_KINDS
from recon_helpers.ingest.loaders.canonical import (
    BILLED_FIELDS,
    DELIVERED_FIELDS,
    PROMISED_FIELDS,
    spec_header,
)

PERIOD = "2026-10"
SEED = 7
VERSION = 2  # bump when the generated data changes: run.py then writes workspaces afresh
KINDS = DISCREPANCY_KINDS[:7]  # the kinds planted on keys (the unmapped ones: extra lines)
DELIVERED_HEADER = (*spec_header(DELIVERED_FIELDS), "line_id")  # + the vendor's line id
PROMISED_HEADER = spec_header(PROMISED_FIELDS)
BILLED_HEADER = spec_header(BILLED_FIELDS)
FIRST_WORDS = [
    "Acme", "Adams", "Alpine", "Anchor", "Apex", "Arbor", "Aspen", "Atlas", "Aurora", "Bayside",
    "Beacon", "Birch", "Bluewater", "Boulder", "Bridge", "Brightside", "Cardinal", "Cascade",
    "Cedar", "Centennial", "Chestnut", "Clearwater", "Coastal", "Cobalt", "Copper", "Crescent",
    "Crystal", "Cypress", "Delta", "Diamond", "Eagle", "Eastgate", "Elm", "Emerald", "Evergreen",
    "Fairview", "Falcon", "Foxhill", "Frontier", "Garnet", "Glacier", "Golden", "Granite",
    "Greenfield", "Harbor", "Hawthorne", "Heritage", "Highland", "Horizon", "Hudson", "Ironwood",
    "Juniper", "Keystone", "Lakeside", "Laurel", "Liberty", "Lighthouse", "Magnolia", "Maple",
    "Meadow", "Meridian", "Midland", "Millbrook", "Monarch", "Northwind", "Oakridge", "Orchard",
    "Orion", "Pacific", "Pinnacle", "Pioneer", "Prairie", "Quartz", "Redwood", "Ridgeline",
    "Riverbend", "Sagebrush", "Sequoia", "Sierra", "Silverline", "Southport", "Sterling",
    "Summit", "Sunrise", "Tidewater", "Timber", "Trident", "Union", "Valley", "Vanguard",
    "Westfield", "Willow", "Windsor", "Yellowstone", "Zephyr",
]
TRADES = [
    "Dental Group", "Family Dentistry", "Law Partners", "Legal Services", "Medical Clinic",
    "Veterinary Hospital", "Accounting", "Tax Advisors", "Architects", "Engineering",
    "Construction", "Builders", "Realty", "Property Management", "Insurance Agency",
    "Credit Union", "Freight", "Logistics", "Marine", "Outfitters", "Bakery", "Hotels", "Schools",
    "Academy", "Analytics", "Labs", "Media", "Design Studio", "Manufacturing", "Machine Works",
    "Trading", "Farms Cooperative", "Physiotherapy", "Pharmacy", "Auto Repair", "Plumbing",
    "Electric", "Roofing", "Landscaping", "Wealth Management",
]
LEGAL = ("", "", "", " LLC", " Inc.", ", Inc.", " Ltd", " Corp.")


@dataclass(frozen=True)
class Product:
    """A PSA product and the vendor SKU behind it (prices and costs as strings, exact)."""

    product_id: str
    description: str
    vendor: str  # "" = not vendor-backed
    vendor_sku: str
    price_cents: int  # per billed unit
    cost_micro: int | None  # vendor unit cost per vendor unit, 1e-6 (None: export has none)
    agreement_cost_micro: int  # per billed unit, what the agreement line says
    units_per_product: int = 1  # vendor units per billed unit (GB per TB)
    hundredths: bool = False  # vendor quantities carry two decimals (GB)
    ms_sku: str = ""  # ProductId:SkuId in the Partner Center rendering


@dataclass
class Key:
    """One client x product: what the agreement says and what the vendor delivers."""

    product: Product
    agreed: int | None  # billed units; None = no agreement line
    delivered: int  # vendor units (hundredths for GB products)
    invoiced: int | None
    price_cents: int
    invoice_price_cents: int
    kind: str = ""
    lines: int = 0
    base: int = 0  # the agreed quantity before any planted discrepancy (for other months)


@dataclass
class Client:
    """A PSA client with its identity at each vendor."""

    index: int
    client_id: str
    name: str
    currency: str
    ms_tenant: str = ""  # the tenant its lines carry in the Partner Center rendering
    vendor_ids: dict[str, str] = field(default_factory=dict)
    vendor_names: dict[str, str] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _money(micro: int, places: int = 6) -> str:
    """A 1e-6 fixed-point amount as a plain decimal string with at most ``places`` decimals."""
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), 1_000_000)
    text = f"{frac:06d}"[:places].rstrip("0")
    return f"{sign}{whole}.{text}" if text else f"{sign}{whole}"


def _qty(units: int, hundredths: bool) -> str:
    if not hundredths:
        return str(units)
    whole, frac = divmod(units, 100)
    return f"{whole}.{frac:02d}" if frac else str(whole)


def make_products(rng: random.Random) -> list[Product]:
    """The catalogue: Microsoft, Pax8, Datto RMM, SentinelOne, Huntress, Acronis, flat fees."""
    out: list[Product] = []
    alnum = "0123456789BCDFGHJKLMNPQRSTVWXZ"

    def ms_sku() -> str:
        return (
            "CFQ7TTC0" + "".join(rng.choice(alnum) for _ in range(4)) + f":000{rng.randint(1, 9)}"
        )

    plans = (
        ("microsoft", 24, "M365", "Microsoft 365 plan", (600, 5700), True),
        ("pax8", 12, "PAX", "Pax8 cloud service", (300, 2500), True),
        ("datto_rmm", 3, "RMM", "Managed device (RMM)", (250, 600), False),
        ("sentinelone", 5, "EDR", "SentinelOne endpoint", (400, 900), False),
        ("huntress", 3, "MDR", "Huntress managed agent", (300, 800), False),
    )
    for vendor, count, prefix, label, (lo, hi), has_cost in plans:
        for n in range(count):
            price = rng.randrange(lo, hi, 25)
            cost = price * rng.randint(70, 88) * 100  # cents -> micro, 70-88 % of the price
            sku = {"microsoft": ms_sku(), "pax8": _guid(rng)}.get(
                vendor, f"{label.split()[0].lower()}-{n}"
            )
            out.append(
                Product(
                    f"{prefix}-{n:02d}",
                    f"{label} {n}",
                    vendor,
                    sku,
                    price,
                    cost if has_cost else None,
                    cost,
                    ms_sku=ms_sku() if vendor != "microsoft" else sku,
                )
            )
    for n in range(3):  # backup storage billed per TB, reported in GB with decimals
        out.append(
            Product(
                f"BKP-{n:02d}",
                f"Cloud backup storage {n} per TB",
                "acronis",
                f"storage_{n}",
                4500 + 500 * n,
                21_000 + 1000 * n,
                21_500_000,
                units_per_product=1024,
                hundredths=True,
                ms_sku=ms_sku(),
            )
        )
    out.append(Product("MSP-FLAT", "Managed services flat fee", "", "", 150_000, None, 0))
    return out


def make_clients(n: int, rng: random.Random) -> list[Client]:
    """N clients with unique normalised names, ids and a currency (2 % CAD)."""
    names: set[str] = set()
    clients = []
    while len(clients) < n:
        name = f"{rng.choice(FIRST_WORDS)} {rng.choice(FIRST_WORDS)} {rng.choice(TRADES)}"
        if len(names) > len(FIRST_WORDS) ** 2 * len(TRADES) // 2:
            name += f" {len(clients)}"
        if name.split()[0] == name.split()[1] or name in names:
            continue
        names.add(name)
        i = len(clients)
        clients.append(
            Client(i, str(29_600_000 + 37 * i), name, "CAD" if i % 50 == 7 else "USD", _guid(rng))
        )
    return clients


def _vendor_identity(client: Client, vendor: str, rng: random.Random) -> None:
    ids = {
        "sentinelone": str(rng.randrange(10**17, 10**19)),
        "huntress": str(rng.randrange(10**4, 10**6)),
        "datto_rmm": _guid(rng),
    }
    client.vendor_ids[vendor] = ids.get(vendor) or _guid(rng)
    roll = rng.random()
    if roll < 0.05:  # a name no rule recognises: mapped by id in mappings/clients.csv
        client.vendor_names[vendor] = f"{client.name.split()[0]} tenant {client.index:05d}"
    elif roll < 0.35:
        client.vendor_names[vendor] = (
            client.name.upper() if roll < 0.1 else client.name + rng.choice(LEGAL)
        )
    else:
        client.vendor_names[vendor] = client.name


def plan(clients: list[Client], products: list[Product], rng: random.Random, rate: float) -> None:
    """Choose each client's products, quantities and planted discrepancies."""
    backed = [p for p in products if p.vendor]
    flat = products[-1]
    for c in clients:
        chosen = rng.sample(backed, rng.randint(15, 35))
        for p in chosen:
            if p.vendor not in c.vendor_ids:
                _vendor_identity(c, p.vendor, rng)
            agreed = (
                rng.randint(1, 20)
                if p.hundredths
                else max(1, min(500, int(rng.paretovariate(1.3) * 6)))
            )
            units = agreed * p.units_per_product * (100 if p.hundredths else 1)
            key = Key(p, agreed, units, agreed, p.price_cents, p.price_cents, base=agreed)
            if rng.random() < rate:
                _plant(key, rng)
            c.keys.append(key)
        if c.index % 3 == 0:
            c.keys.append(Key(flat, 1, 0, 1, flat.price_cents, flat.price_cents))


def _plant(key: Key, rng: random.Random) -> None:
    p = key.product
    kind = rng.choice(KINDS)
    step = p.units_per_product * (100 if p.hundredths else 1)
    assert key.agreed is not None
    if kind == "over_billed" and key.agreed < 2:
        kind = "under_billed"
    if kind == "negative_margin" and p.cost_micro is None:
        kind = "price_mismatch"
    key.kind = kind
    if kind == "under_billed":
        key.delivered += step * max(1, key.agreed // 10)
    elif kind == "over_billed":
        key.delivered -= step * max(1, key.agreed // 10)
    elif kind == "unbilled_service":
        key.agreed = key.invoiced = None
    elif kind == "billed_not_delivered":
        key.delivered = 0
    elif kind == "invoice_mismatch":
        key.invoiced = key.agreed + 1
    elif kind == "price_mismatch":
        key.invoice_price_cents = key.price_cents + 100
    else:  # price below the vendor's unit cost (cost per billed unit)
        per_unit = (p.cost_micro or 0) * p.units_per_product // 10_000
        key.price_cents = key.invoice_price_cents = max(1, per_unit - 50)


def replant(clients: list[Client], rng: random.Random, rate: float) -> None:
    """Another month of the same clients, products and quantities: discrepancies drawn afresh."""
    for k in (k for c in clients for k in c.keys if k.product.vendor):
        p = k.product
        k.agreed = k.invoiced = k.base
        k.delivered = k.base * p.units_per_product * (100 if p.hundredths else 1)
        k.price_cents = k.invoice_price_cents = p.price_cents
        k.kind, k.lines = "", 0
        if rng.random() < rate:
            _plant(k, rng)


def allocate(clients: list[Client], lines: int, extra: int) -> None:
    """Spread ``lines - extra`` delivered lines over keys in proportion to their quantity."""
    keys = [k for c in clients for k in c.keys if k.delivered > 0]
    budget = lines - extra - len(keys)
    if budget < 0:
        raise SystemExit(
            f"{lines} lines are too few for {len(keys)} delivered keys: lower --clients"
        )
    weights = [
        k.delivered // (k.product.units_per_product * (100 if k.product.hundredths else 1)) + 1
        for k in keys
    ]
    total = sum(weights)
    cum, given = 0, 0
    for k, w in zip(keys, weights, strict=True):
        cum += w
        upto = budget * cum // total
        k.lines = 1 + upto - given
        given = upto


def _split(total: int, n: int) -> list[int]:
    base, rem = divmod(total, n)
    return [base + 1] * rem + [base] * (n - rem)


class Writers:
    """The open CSV writers of one workspace (closed by :meth:`close`)."""

    def __init__(self, root: Path, period: str, partner_center: bool) -> None:
        month = root / "inputs" / period
        month.mkdir(parents=True)
        self._files = []
        self.delivered = self._open(month / "delivered.csv", DELIVERED_HEADER)
        self.promised = self._open(month / "promised.csv", PROMISED_HEADER)
        self.billed = self._open(month / "billed.csv", BILLED_HEADER)
        self.pc = None
        if partner_center:
            from recon_helpers.demo.exports import MS_HEADER

            folder = root / "partner_center" / period
            folder.mkdir(parents=True)
            self.pc = self._open(folder / f"G0{period.replace('-', '')}77.csv", MS_HEADER, "\r\n")

    def _open(self, path: Path, header: tuple[str, ...] | list[str], end: str = "\n"):  # type: ignore[no-untyped-def]
        fh = path.open("w", encoding="utf-8", newline="")
        self._files.append(fh)
        w = csv.writer(fh, lineterminator=end)
        w.writerow(header)
        return w

    def close(self) -> None:
        for fh in self._files:
            fh.close()


def _month(period: str) -> tuple[str, str, str, str]:
    """First and last day, the 15th, and the 14th of the next month (ISO strings)."""
    y, m = map(int, period.split("-"))
    ny, nm = y + (m == 12), m % 12 + 1
    last_day = calendar.monthrange(y, m)[1]
    return f"{y}-{m:02d}-01", f"{y}-{m:02d}-{last_day:02d}", f"{y}-{m:02d}-15", f"{ny}-{nm:02d}-14"


def _mdy(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{int(m)}/{int(d)}/{y}"


def _pc_row(
    period: str, c: Client, p: Product, qty: str, sub: str, start: str, end: str, rng: random.Random
) -> list[str]:
    """One Partner Center NCE reconciliation row (the 47 columns of demo_exports.MS_HEADER)."""
    from recon_helpers.demo.exports import PARTNER_ID

    product_id, sku_id = p.ms_sku.split(":")
    tenant = c.vendor_ids.get("microsoft") or c.ms_tenant
    cost = _money(p.cost_micro or p.agreement_cost_micro // max(p.units_per_product, 1))
    first = f"{period}-01"
    return [
        PARTNER_ID,
        tenant,
        c.vendor_names.get("microsoft", c.name),
        c.name.split()[0].lower() + ".onmicrosoft.com",
        "CA" if c.currency == "CAD" else "US",
        f"G0{period.replace('-', '')}77",
        "6034453",
        "6034453",
        f"{rng.getrandbits(40):x}",
        _mdy(start),
        product_id,
        sku_id,
        "CFQ7TTC0LF8R",
        p.description,
        p.description,
        "cycleCharge",
        _money(p.price_cents * 10_000),
        qty,
        sub,
        "0",
        sub,
        c.currency,
        '["15.0% Partner earned credit for services managed", "Promo: 0%"]',
        "Microsoft Corporation",
        "",
        p.description,
        f"{rng.getrandbits(64):016x}",
        _mdy(start),
        _mdy(end),
        "1 Month Subscription, billed monthly",
        cost,
        "Licenses",
        "",
        qty,
        "Monthly",
        c.currency,
        "1",
        _mdy(first),
        "",
        "",
        "",
        "1/1/2026",
        "12/31/2026",
        "",
        '["AddOn", "Trial=false"]',
        "",
        "OnlineServicesNCE",
    ]


def write_client(w: Writers, c: Client, period: str, rng: random.Random) -> int:
    """Stream one client's delivered, agreement and invoice rows; returns delivered lines."""
    first, last, mid, next_mid = _month(period)
    expired_end = f"{period}-10"
    agreement = f"AGR-{c.client_id}-1"
    invoice = f"INV-{period.replace('-', '')}-{c.index:06d}"
    written = 0
    for k in c.keys:
        p = k.product
        if k.agreed is not None:
            price = _money(k.price_cents * 10_000)
            agreed = [c.client_id, c.name, agreement, p.product_id, p.description]
            w.promised.writerow([*agreed, k.agreed, price, _money(p.agreement_cost_micro),
                                 c.currency, "2025-01-01", ""])
            if c.index % 97 == 3:  # an old line cancelled before the month: not live
                w.promised.writerow([*agreed, k.agreed + 3, price, "", c.currency,
                                     "2024-01-01", "2025-12-31"])
        if k.invoiced is not None:
            inv_price = _money(k.invoice_price_cents * 10_000)
            w.billed.writerow(
                [
                    c.client_id,
                    invoice,
                    f"{period}-01",
                    p.product_id,
                    p.description,
                    k.invoiced,
                    inv_price,
                    _money(k.invoiced * k.invoice_price_cents * 10_000),
                    c.currency,
                    first,
                    last,
                ]
            )
        if not k.lines:
            continue
        vid, vname = c.vendor_ids[p.vendor], c.vendor_names[p.vendor]
        cost = "" if p.cost_micro is None else _money(p.cost_micro)
        start, end = (mid, next_mid) if c.index % 5 == 0 else (first, last)
        counted = min(k.lines, k.delivered)
        parts = _split(k.delivered, counted)
        rows = [(q, start, end) for q in parts]
        # lines beyond the units: licences that ended on the 10th, not counted at month end
        rows += [(100 if p.hundredths else 1, first, expired_end)] * (k.lines - counted)
        for n, (q, s, e) in enumerate(rows):
            text = _qty(q, p.hundredths)
            w.delivered.writerow(
                [
                    p.vendor,
                    vid,
                    vname,
                    p.vendor_sku,
                    p.description,
                    text,
                    cost,
                    c.currency,
                    s,
                    e,
                    f"{c.index:05d}-{p.product_id}-{n:05d}",
                ]
            )
            if w.pc is not None:
                cost_micro = p.cost_micro or 0
                sub = _money(cost_micro * q // (100 if p.hundredths else 1) // 10_000 * 10_000, 2)
                w.pc.writerow(_pc_row(period, c, p, text, sub, s, e, rng))
        written += len(rows)
    return written


def write_extras(
    w: Writers,
    clients: list[Client],
    products: list[Product],
    n: int,
    rng: random.Random,
    period: str,
) -> list[dict[str, str]]:
    """Lines of unknown vendor customers and of SKUs missing from the product map."""
    first, last, _, _ = _month(period)
    truth = []
    ms = next(p for p in products if p.vendor == "microsoft")
    customers = max(1, n // 40)
    for i in range(n):
        if i % 2 == 0:  # a prospect's tenant nobody mapped
            j = i // 2 % customers
            vid, vname = _guid(random.Random(f"prospect:{j}")), f"Prospect Holdings {j:03d}"
            row = [
                "microsoft",
                vid,
                vname,
                ms.vendor_sku,
                ms.description,
                "3",
                _money(ms.cost_micro or 0),
                "USD",
                first,
                last,
                f"x-{i:06d}",
            ]
            if i // 2 < customers:
                truth.append(
                    {
                        "kind": "unmapped_customer",
                        "client_id": "",
                        "product_id": "",
                        "vendor": "microsoft",
                        "vendor_customer": vid,
                        "vendor_sku": "",
                    }
                )
        else:  # a new SKU of a mapped client
            c = clients[(i // 2 % customers * 7919) % len(clients)]
            vendor = next(iter(c.vendor_ids))
            sku = f"new-sku-{i % 5}"
            row = [
                vendor,
                c.vendor_ids[vendor],
                c.vendor_names[vendor],
                sku,
                f"New service {i % 5}",
                "2",
                "1.5",
                c.currency,
                first,
                last,
                f"x-{i:06d}",
            ]
            truth.append(
                {
                    "kind": "unmapped_product",
                    "client_id": c.client_id,
                    "product_id": "",
                    "vendor": vendor,
                    "vendor_customer": c.vendor_ids[vendor],
                    "vendor_sku": sku,
                }
            )
        w.delivered.writerow(row)
        if w.pc is not None:
            w.pc.writerow(
                _pc_row(period, clients[i % len(clients)], ms, row[5], "0", first, last, rng)
            )
    seen, unique = set(), []
    for t in truth:
        key = tuple(t.values())
        if key not in seen:
            seen.add(key)
            unique.append(t)
    return unique


def write_static(root: Path, period: str, clients: list[Client], products: list[Product]) -> None:
    """clients.csv, catalogue.csv, the mapping files and recon.toml."""
    month = root / "inputs" / period

    def table(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            wr = csv.writer(fh, lineterminator="\n")
            wr.writerow(header)
            wr.writerows(rows)

    table(
        month / "clients.csv",
        ("client_id", "client_name"),
        [[c.client_id, c.name] for c in clients],
    )
    table(
        month / "catalogue.csv",
        ("product_id", "description", "unit_price", "currency"),
        [[p.product_id, p.description, _money(p.price_cents * 10_000), "USD"] for p in products],
    )
    cmap = []
    for c in clients:
        for vendor, vid in c.vendor_ids.items():
            name = c.vendor_names.get(vendor, "")
            if " tenant " in name:
                cmap.append([vendor, vid, "", c.client_id])
            elif c.index % 41 == 5:  # by name: the vendor export renames customers now and then
                cmap.append([vendor, "", name, c.client_id])
    table(
        root / "mappings" / "clients.csv",
        ("vendor", "vendor_customer_id", "vendor_customer_name", "client_id"),
        cmap,
    )
    # for the benchmark's floor: every vendor customer id with its client, as a plain table
    table(
        root / "customer_ids.csv",
        ("vendor", "vendor_customer_id", "client_id"),
        [[v, vid, c.client_id] for c in clients for v, vid in c.vendor_ids.items()],
    )
    table(
        root / "mappings" / "products.csv",
        ("vendor", "vendor_sku", "product_id", "units_per_product"),
        [
            [p.vendor, p.vendor_sku, p.product_id, str(p.units_per_product)]
            for p in products
            if p.vendor
        ],
    )
    (root / "recon.toml").write_text('currency = "USD"\n', encoding="utf-8")


def write_month(
    out: Path,
    period: str,
    people: list[Client],
    products: list[Product],
    lines: int,
    seed: int,
    rng: random.Random,
    partner_center: bool,
) -> tuple[int, list[dict[str, str]]]:
    """One month's inputs (and the mappings); its delivered lines and unmapped ground truth."""
    extra = max(2, lines // 500)  # 0.2 % of lines: unmapped customers and SKUs
    allocate(people, lines, extra)
    w = Writers(out, period, partner_center)
    try:
        written = sum(
            write_client(w, c, period, random.Random(f"{seed}:{c.index}")) for c in people
        )
        truth = write_extras(w, people, products, extra, rng, period)
    finally:
        w.close()
    write_static(out, period, people, products)
    return written + extra, truth


def generate(
    out: Path,
    *,
    clients: int = 1000,
    lines: int = 1_000_000,
    period: str = PERIOD,
    seed: int = SEED,
    rate: float = 0.03,
    partner_center: bool = False,
    force: bool = False,
    months: int = 1,
) -> dict[str, object]:
    """Write one scale workspace to ``out``; returns its manifest (also in manifest.json).

    ``months`` > 1 adds the months before ``period`` (for the trends notebook): the same
    clients, products, quantities and mappings, ``lines`` lines each, with the discrepancies
    drawn afresh per month (ground_truth.csv and the Partner Center CSV are ``period``'s only).

    Raises:
        SystemExit: ``out`` exists (without ``force``) or ``lines`` is too small.
    """
    if out.exists():
        if not force:
            raise SystemExit(f"{out} exists; pass --force to replace it")
        shutil.rmtree(out)
    started = time.perf_counter()
    rng = random.Random(seed)
    products = make_products(rng)
    people = make_clients(clients, rng)
    plan(people, products, rng, rate)
    written, truth = write_month(out, period, people, products, lines, seed, rng, partner_center)
    for c in people:
        for k in c.keys:
            if k.kind:
                truth.append(
                    {
                        "kind": k.kind,
                        "client_id": c.client_id,
                        "product_id": k.product.product_id,
                        "vendor": k.product.vendor,
                        "vendor_customer": "",
                        "vendor_sku": "",
                    }
                )
    with (out / "ground_truth.csv").open("w", encoding="utf-8", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(truth[0]), lineterminator="\n")
        wr.writeheader()
        wr.writerows(truth)
    periods = [period]
    for _ in range(months - 1):
        y, m = map(int, periods[0].split("-"))
        periods.insert(0, f"{y - (m == 1)}-{(m - 2) % 12 + 1:02d}")
        month_rng = random.Random(f"{seed}:{periods[0]}")
        replant(people, month_rng, rate)
        write_month(out, periods[0], people, products, lines, seed, month_rng, False)
    manifest = {
        "version": VERSION,
        "period": period,
        "clients": clients,
        "lines": written,
        "seed": seed,
        "rate": rate,
        "keys": sum(len(c.keys) for c in people),
        "planted": len(truth),
        "partner_center": partner_center,
        "periods": periods,
        "seconds": round(time.perf_counter() - started, 1),
        "bytes_delivered": (out / "inputs" / period / "delivered.csv").stat().st_size,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python benchmarks/generate.py --out DIR [--lines N] [--clients N]``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--period", default=PERIOD)
    ap.add_argument("--months", type=int, default=1, help="months to write, ending with --period")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--rate", type=float, default=0.03, help="share of keys with a discrepancy")
    ap.add_argument(
        "--partner-center",
        action="store_true",
        help="also write the lines as a Partner Center NCE reconciliation CSV",
    )
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    manifest = generate(
        args.out,
        clients=args.clients,
        lines=args.lines,
        period=args.period,
        seed=args.seed,
        rate=args.rate,
        partner_center=args.partner_center,
        force=args.force,
        months=args.months,
    )
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
