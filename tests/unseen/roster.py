"""The MSP of the unseen months: its catalogue, the vendor SKUs, 31 clients and their names.

The MSP ("Tidewater Managed IT") bills through ConnectWise and resells Microsoft (Partner
Center NCE), Pax8 (Proofpoint, Keeper, Dropsuite), Huntress, Datto RMM and SentinelOne.
Each client's services are (product, quantity); by default what the agreement promises is
what the vendors deliver and what the invoice bills; ``plan`` plants the differences.

Names: ``CLIENTS`` has the PSA spelling. ``TAME`` has vendor spellings today's name
normalisation already equates with the PSA one; ``FORMS`` has the spellings vendors really
use (issue 12), per (client, vendor), grouped by the form of name they exercise.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from tests.unseen.model import Product

_NS = uuid.UUID("6d1f3c52-0b8e-4a7d-9f21-4c5e7a9b0d13")


def guid(*parts: object) -> str:
    """A stable GUID for a record of the book (the same every run)."""
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


def digits(n: int, *parts: object) -> str:
    """A stable ``n``-digit numeric id (no leading zero)."""
    value = int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest(), 16)
    return str(10 ** (n - 1) + value % (9 * 10 ** (n - 1)))


def _p(pid: str, desc: str, price: str, cost: str, cw_id: int) -> Product:
    return Product(pid, desc, Decimal(price), Decimal(cost), cw_id)


PRODUCTS: dict[str, Product] = {p.product_id: p for p in (
    _p("M365-BP", "Microsoft 365 Business Premium", "22.00", "18.70", 4101),
    _p("M365-BS", "Microsoft 365 Business Standard", "12.50", "10.63", 4102),
    _p("M365-BB", "Microsoft 365 Business Basic", "6.00", "5.10", 4103),
    _p("EXO-P1", "Exchange Online (Plan 1)", "4.00", "3.40", 4104),
    _p("PPT-ESS", "Proofpoint Essentials Professional (email security)", "3.50", "2.65", 4111),
    _p("PWD-KPR", "Keeper Business password manager", "5.00", "3.00", 4112),
    _p("BKP-DSM", "Dropsuite M365 backup per mailbox", "3.00", "1.80", 4113),
    _p("EDR-AGENT", "Huntress managed EDR per endpoint", "4.50", "2.50", 4121),
    _p("RMM-DEV", "Managed device (Datto RMM)", "8.00", "1.50", 4122),
    _p("S1-CORE", "SentinelOne Singularity Core per endpoint", "5.00", "2.75", 4123),
    _p("S1-CTRL", "SentinelOne Singularity Control per endpoint", "6.50", "3.50", 4124),
    _p("MSP-FLAT", "Managed IT services, flat monthly fee", "1500.00", "0.00", 4130),
)}


@dataclass(frozen=True)
class MsSku:
    """A Partner Center new-commerce SKU: ids, names, list price and effective unit price."""

    product_id: str
    sku_id: str
    availability_id: str
    name: str
    list_price: Decimal
    effective_price: Decimal  # after 15 % partner-earned credit

    @property
    def key(self) -> str:
        """SPEC vendor_sku for Microsoft: ProductId:SkuId."""
        return f"{self.product_id}:{self.sku_id}"


def _ms(pid: str, sku: str, avail: str, name: str, price: str, eup: str) -> MsSku:
    return MsSku(pid, sku, avail, name, Decimal(price), Decimal(eup))


MS_SKUS: dict[str, MsSku] = {
    "M365-BP": _ms("CFQ7TTC0LCHC", "0002", "CFQ7TTC0PRGQ", "Microsoft 365 Business Premium",
                   "22.00", "18.70"),
    "M365-BS": _ms("CFQ7TTC0LDPB", "0001", "CFQ7TTC0D7HX", "Microsoft 365 Business Standard",
                   "12.50", "10.625"),
    "M365-BB": _ms("CFQ7TTC0LH18", "0001", "CFQ7TTC0MH5R", "Microsoft 365 Business Basic",
                   "6.00", "5.10"),
    "EXO-P1": _ms("CFQ7TTC0LH16", "0001", "CFQ7TTC0ZAZS", "Exchange Online (Plan 1)",
                  "4.00", "3.40"),
    # not in products.csv: the planted unmapped SKU, and the one on the unmapped tenant
    "TEAMS-PHONE": _ms("CFQ7TTC0LH3N", "0001", "CFQ7TTC0FXNK", "Microsoft Teams Phone Standard",
                       "10.00", "8.50"),
    "DEFENDER": _ms("CFQ7TTC0LFLZ", "0002", "CFQ7TTC0KXG6", "Microsoft Defender for Business",
                    "3.00", "2.55"),
}


@dataclass(frozen=True)
class Pax8Product:
    """A Pax8 catalogue product: productId, sku code, vendor, partner cost, customer price."""

    product_id: str
    sku: str
    name: str
    vendor_name: str
    cost: Decimal
    price: Decimal


PAX8_PRODUCTS: dict[str, Pax8Product] = {
    "PPT-ESS": Pax8Product(guid("pax8-product", "ppt"), "PPT-ESS-PRO-C100",
                           "Proofpoint Essentials - Professional", "Proofpoint",
                           Decimal("2.65"), Decimal("3.25")),
    "PWD-KPR": Pax8Product(guid("pax8-product", "keeper"), "KPR-BUS-M-C100",
                           "Keeper Business", "Keeper Security", Decimal("3.00"), Decimal("3.75")),
    "BKP-DSM": Pax8Product(guid("pax8-product", "dropsuite"), "DRS-M365-BKP-C100",
                           "Dropsuite Microsoft 365 Backup", "Dropsuite",
                           Decimal("1.80"), Decimal("2.40")),
}

MS_PRODUCTS = frozenset(k for k in MS_SKUS if k in PRODUCTS)
VENDOR_OF = {
    **dict.fromkeys(MS_PRODUCTS, "microsoft"),
    **dict.fromkeys(PAX8_PRODUCTS, "pax8"),
    "EDR-AGENT": "huntress",
    "RMM-DEV": "datto_rmm",
    "S1-CORE": "sentinelone",
    "S1-CTRL": "sentinelone",
}
S1_SKU = {"S1-CORE": "Core", "S1-CTRL": "Control"}


@dataclass(frozen=True)
class Spec:
    """A client: id, PSA name, flat fee and services (product -> agreed quantity)."""

    client_id: str
    name: str
    flat_fee: str
    services: tuple[tuple[str, int], ...]
    anchor: int  # day of the month its Microsoft charge cycles start


def _s(cid: str, name: str, fee: str, anchor: int, **services: int) -> Spec:
    pairs = tuple((k.replace("_", "-"), v) for k, v in services.items())
    return Spec(cid, name, fee, pairs, anchor)


CLIENTS: tuple[Spec, ...] = (
    _s("MunsonsPickles", "Munson's Pickles LLC", "1250.00", 5,
       M365_BS=14, EXO_P1=4, EDR_AGENT=16, RMM_DEV=16),
    _s("HarborGroup", "Harbor Group, Inc.", "2400.00", 1,
       M365_BP=22, EDR_AGENT=25, RMM_DEV=25, S1_CORE=25),
    _s("SmithSons", "Smith and Sons Pty Ltd", "900.00", 12,
       M365_BB=9, PPT_ESS=9, EDR_AGENT=10, RMM_DEV=10),
    _s("ContosoEast", "Contoso East LLC", "1100.00", 15, M365_BP=11, EDR_AGENT=12, RMM_DEV=12),
    _s("ContosoWest", "Contoso West LLC", "800.00", 20, M365_BP=7, EDR_AGENT=8, RMM_DEV=8),
    _s("Northwind", "Northwind Inc.", "600.00", 28, M365_BS=5, EDR_AGENT=6, S1_CORE=6),
    _s("NorthwindTraders", "Northwind Traders Ltd", "1800.00", 3,
       M365_BP=18, PPT_ESS=18, EDR_AGENT=20, RMM_DEV=20),
    _s("CedarRidge", "Cedar Ridge Dental", "950.00", 9,
       M365_BS=8, EXO_P1=3, EDR_AGENT=9, RMM_DEV=9),
    _s("OReilly", "O'Reilly Surveying", "700.00", 15,
       M365_BB=6, PWD_KPR=6, EDR_AGENT=7, RMM_DEV=7, S1_CORE=7),
    _s("CafeLumiere", "Café Lumière", "450.00", 1, M365_BB=4, EDR_AGENT=4, RMM_DEV=4),
    _s("AlderCreek", "Alder Creek Farms", "500.00", 22, M365_BB=5, EDR_AGENT=6, RMM_DEV=6),
    _s("BakerFields", "Baker & Fields", "1000.00", 7, M365_BS=10, EDR_AGENT=11, RMM_DEV=11),
    _s("KestrelAviation", "Kestrel Aviation PLC", "1500.00", 15,
       M365_BP=15, S1_CORE=17, RMM_DEV=17),
    _s("Brightwater", "Brightwater SA", "1150.00", 11, M365_BS=12, EDR_AGENT=12, RMM_DEV=12),
    _s("VanDijk", "Van Dijk Logistics NV", "1900.00", 4, M365_BB=20, S1_CORE=22, RMM_DEV=22),
    _s("TallgrassSupply", "Tallgrass Supply Company", "850.00", 6,
       M365_BS=9, EDR_AGENT=9, RMM_DEV=9),
    _s("Ironbridge", "Ironbridge Corporation", "3200.00", 15,
       M365_BP=30, EDR_AGENT=34, RMM_DEV=34, S1_CORE=34),
    _s("MeridianHealth", "Meridian Health Partners LLC", "2600.00", 18,
       M365_BP=25, PPT_ESS=25, EDR_AGENT=27, RMM_DEV=27),
    _s("Pinecrest", "Pinecrest Orthodontics", "700.00", 2, M365_BP=6, EXO_P1=6, EDR_AGENT=14),
    _s("Bluebell", "Bluebell Florists", "400.00", 15, M365_BB=5, PWD_KPR=10, EDR_AGENT=5),
    _s("Redwood", "Redwood Accounting", "900.00", 8, M365_BS=8, EDR_AGENT=8, RMM_DEV=8),
    _s("SummitPT", "Summit Physical Therapy", "1000.00", 5,
       M365_BP=10, EDR_AGENT=10, S1_CORE=10),
    _s("Lakeshore", "Lakeshore Montessori", "1200.00", 15, M365_BB=15, EDR_AGENT=20, RMM_DEV=20),
    _s("Granger", "Granger Veterinary Clinic", "800.00", 10, M365_BS=7, EDR_AGENT=12, RMM_DEV=8),
    _s("Oakhurst", "Oakhurst Property Management", "1100.00", 15,
       M365_BB=12, EDR_AGENT=13, RMM_DEV=15),
    _s("Silverline", "Silverline Couriers", "650.00", 1,
       M365_BB=6, EXO_P1=6, EDR_AGENT=6, RMM_DEV=6),
    _s("Foxglove", "Foxglove Architects", "1050.00", 15,
       M365_BP=9, BKP_DSM=9, EDR_AGENT=9, RMM_DEV=9),
    _s("QuarryLane", "Quarry Lane Brewing", "600.00", 25, M365_BP=5, EDR_AGENT=5, RMM_DEV=5),
    _s("Willowmere", "Willowmere Senior Living", "2000.00", 15,
       M365_BS=20, PPT_ESS=20, EDR_AGENT=25, RMM_DEV=25),
    _s("Driftwood", "Driftwood Marine Supply", "750.00", 12,
       M365_BB=8, PWD_KPR=5, EDR_AGENT=8, RMM_DEV=8),
    _s("DAngelo", "D'Angelo Bakery", "300.00", 15, M365_BB=3, EDR_AGENT=3),
)

# vendor spellings today's normalisation equates with the PSA name (case, punctuation, Inc/LLC)
TAME: dict[str, str] = {
    "HarborGroup": "Harbor Group Inc",
    "SmithSons": "Smith & Sons Pty Ltd",
    "ContosoEast": "Contoso East",
    "ContosoWest": "Contoso West",
    "Northwind": "Northwind",
    "NorthwindTraders": "Northwind Traders",
    "CafeLumiere": "Cafe Lumiere",
    "KestrelAviation": "Kestrel Aviation plc",
    "TallgrassSupply": "Tallgrass Supply Co",
    "Ironbridge": "Ironbridge Corp",
    "MeridianHealth": "Meridian Health Partners, LLC",
}

# vendor customers that no name rule reaches: the mapping file or a source link maps them
SPECIAL_NAMES: dict[tuple[str, str], str] = {
    ("Foxglove", "datto_rmm"): "Foxglove - Main Office",  # clients.csv by site uid
    ("SummitPT", "sentinelone"): "SUMMIT-PT",  # clients.csv by site id
    ("Ironbridge", "huntress"): "Ironbridge HQ",  # clients.csv by name only
    ("Bluebell", "pax8"): "Bluebell Florist Co-op",  # Pax8 externalId = Bluebell
}

_ALL = ("microsoft", "pax8", "huntress", "datto_rmm", "sentinelone")


def _every(client_id: str, name: str) -> dict[tuple[str, str], str]:
    return {(client_id, v): name for v in _ALL}


# the forms of issue 12 "Names as MSPs really write them", per (client, vendor)
FORMS: dict[str, dict[tuple[str, str], str]] = {
    "dotted_llc": {("MunsonsPickles", "microsoft"): "Munson's Pickles L.L.C.",
                   ("MunsonsPickles", "huntress"): "Munson's Pickles, L.L.C.",
                   ("MunsonsPickles", "datto_rmm"): "Munson's Pickles L. L. C."},
    "dotted_plc": {("KestrelAviation", "microsoft"): "Kestrel Aviation P.L.C.",
                   ("KestrelAviation", "sentinelone"): "KESTREL AVIATION P.L.C.",
                   ("KestrelAviation", "datto_rmm"): "Kestrel Aviation p.l.c."},
    "dotted_sa": {("Brightwater", "microsoft"): "Brightwater S.A.",
                  ("Brightwater", "huntress"): "Brightwater, S.A.",
                  ("Brightwater", "datto_rmm"): "Brightwater S. A."},
    "dotted_nv": {("VanDijk", "microsoft"): "Van Dijk Logistics N.V.",
                  ("VanDijk", "sentinelone"): "Van Dijk Logistics N.V",
                  ("VanDijk", "datto_rmm"): "Van Dijk Logistics N. V."},
    "pty_ltd": {("SmithSons", "microsoft"): "Smith & Sons Pty. Ltd.",
                ("SmithSons", "pax8"): "Smith and Sons Pty. Ltd",
                ("SmithSons", "huntress"): "Smith & Sons (Pty) Ltd",
                ("SmithSons", "datto_rmm"): "Smith and Sons Pty. Ltd."},
    "co_corp": {("TallgrassSupply", "microsoft"): "Tallgrass Supply Co.",
                ("TallgrassSupply", "huntress"): "Tallgrass Supply Co",
                ("Ironbridge", "microsoft"): "Ironbridge Corp.",
                ("Ironbridge", "datto_rmm"): "IRONBRIDGE CORP.",
                ("Ironbridge", "sentinelone"): "Ironbridge Corp"},
    "multi_word_suffix": {
        ("MeridianHealth", "microsoft"): "Meridian Health Partners Limited Liability Company",
        ("MeridianHealth", "pax8"): "Meridian Health Partners, L.L.C.",
        ("MeridianHealth", "huntress"): "Meridian Health Partners Limited Liability Co."},
    "leading_the": {("HarborGroup", "microsoft"): "The Harbor Group",
                    ("HarborGroup", "huntress"): "THE HARBOR GROUP, INC.",
                    ("HarborGroup", "datto_rmm"): "The Harbor Group, Inc.",
                    ("HarborGroup", "sentinelone"): "The Harbor Group Inc"},
    "and_ampersand_plus": {("BakerFields", "microsoft"): "Baker + Fields",
                           ("BakerFields", "huntress"): "Baker and Fields",
                           ("BakerFields", "datto_rmm"): "Baker&Fields"},
    "spaces": {("CedarRidge", "microsoft"): "Cedar\u00a0Ridge Dental",
               ("CedarRidge", "huntress"): "Cedar Ridge  Dental",
               ("CedarRidge", "datto_rmm"): " Cedar Ridge Dental\u202f"},
    "trailing_punctuation": {("AlderCreek", "microsoft"): "Alder Creek Farms.",
                             ("AlderCreek", "huntress"): "Alder Creek Farms,",
                             ("AlderCreek", "datto_rmm"): "Alder Creek Farms -"},
    "case_accents": {("CafeLumiere", "microsoft"): "CAFÉ LUMIÈRE",
                     ("CafeLumiere", "huntress"): "cafe lumiere",
                     ("CafeLumiere", "datto_rmm"): "Cafe\u0301 Lumie\u0300re"},  # combining
    "apostrophes": {("OReilly", "microsoft"): "O\u2019Reilly Surveying",  # right single quote
                    ("OReilly", "pax8"): "O\u2018Reilly Surveying",  # left single quote
                    ("OReilly", "huntress"): "O\u02bcReilly Surveying",  # modifier apostrophe
                    ("OReilly", "datto_rmm"): "O\uff07Reilly Surveying",  # fullwidth apostrophe
                    ("DAngelo", "huntress"): "D\u2019Angelo Bakery"},
    # characters typed for an apostrophe that are not one
    "apostrophe_lookalikes": {("OReilly", "sentinelone"): "O\u00b4Reilly Surveying",  # acute
                              ("DAngelo", "microsoft"): "D`Angelo Bakery"},  # grave accent
}
# all of them at once: the month as the vendors really spell it
REAL: dict[tuple[str, str], str] = {k: v for form in FORMS.values() for k, v in form.items()}
