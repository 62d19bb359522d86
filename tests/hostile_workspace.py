"""A workspace whose every text field that reaches a report, chart or widget is a payload.

Used by tests/test_hostile_report.py. Each payload sits in several fields (client ids and
names, vendor customer ids and names, vendor names, SKUs and SKU names, product ids,
descriptions, agreement ids, invoice numbers, input file names, quarantined raw values,
mapping files, decision notes and actors, the sign-off name) of two months of canonical CSV
files plus one Pax8 invoice-items JSON export, so the monthly report, the trends, the
resolution panel, the sign-off page and a client statement all show them.

A payload is "executed" when it sets ``window.__xss`` or opens a dialog (``alert``); it is
"shown" when the page's visible text contains it verbatim.
"""

from __future__ import annotations

import json
from pathlib import Path

from recon_helpers.core.period import Period
from tests.workspace_builder import b, build, d, p

PERIOD = Period.parse("2026-10")
PREVIOUS = Period.parse("2026-09")
# markers that may appear in a page only as inert text (or inside a JSON string literal)
MARKERS = ("__xss", "alert(")
PAYLOADS: tuple[str, ...] = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "</script><script>window.__xss=3</script>",
    "javascript:window.__xss=4",
    "<svg onload=window.__xss=5>",
    "$$\\href{javascript:window.__xss=6}{x}$$",
    "[click](javascript:window.__xss=7)",
    "{{7*7}}",
    '"><script>alert(document.domain)</script>',
    "'-alert(document.domain)-'",
    '<a href="javascript:alert(document.domain)">a</a>',
    "<iframe srcdoc='<script>parent.__xss=12</script>'></iframe>",
    "<details open ontoggle=window.__xss=13>",
    "${alert(document.domain)}",
    "<style>body{display:none}</style>",
    "![leak](canary.txt)",
)
CANARY = "CANARY-LOCAL-FILE-5b1e"  # content of a local file no page may embed


def _pl(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


# (client_id, client_name, vendor_customer_id, vendor_customer_name): ids carry payloads too
CLIENTS: tuple[tuple[str, str, str, str], ...] = tuple(
    (f"C{i:02d}{_pl(i)}", f"Client {i} {_pl(i + 1)}", f"9f1c{i:04d}-{_pl(i + 2)}",
     f"Vendor cust {i} {_pl(i + 3)}")
    for i in range(len(PAYLOADS) // 2)
)
STATEMENT_CLIENT = CLIENTS[0][0]
VENDOR = "huntress"
SKUS = (("agents" + _pl(4), "EDR" + _pl(5)), ("sat" + _pl(6), "SAT" + _pl(7)))


def local_refs(data: Path) -> tuple[str, str]:
    """Payloads that point at a local file by absolute path (an image tag, a Markdown image)."""
    canary = (data / "canary.txt").resolve()
    return f'<img src="{canary}">', f"![leak]({canary})"


def _month(data: Path, period: Period, bump: int) -> dict[str, list[dict[str, str]]]:
    delivered, promised, billed = [], [], []
    for i, (cid, cname, vid, vname) in enumerate(CLIENTS):
        for j, (sku, product) in enumerate(SKUS):
            n = 10 + i + j
            row = d(vid, sku, str(n + 2 + bump), "2.10", vendor=VENDOR, name=vname)
            row["sku_name"] = f"{sku} name {_pl(i + j + 8)}"
            delivered.append(row)
            promised.append(p(cid, product, str(n), "5.00", cost="2.10", client_name=cname,
                              agreement_id=f"AG-{i}{_pl(i + 9)}",
                              description=f"{product} desc {_pl(i + j + 10)}",
                              effective="2026-01-01"))
            bill = b(cid, product, str(n - 1), "5.00")
            bill.update(invoice_number=f"INV-{i}{_pl(i + 11)}", invoice_date=f"{period}-01",
                        period_start=f"{period}-01", period_end=f"{period}-28",
                        description=f"billed {_pl(i + j + 12)}")
            billed.append(bill)
    # unmapped vendor customer and SKU (suggestions with their confirm calls), an unbilled
    # product, and a quarantined row whose raw value is a payload
    delivered.append(d("unmapped-" + _pl(13), SKUS[0][0], "4", "2.10", vendor=VENDOR,
                       name=CLIENTS[1][1].replace("Client", "Clinet")))
    unknown = d(CLIENTS[2][2], "unknown-sku" + _pl(14), "3", "1.00", vendor=VENDOR,
                name=CLIENTS[2][3])
    unknown["sku_name"] = f"{promised[2]['description']} {_pl(12)}"
    delivered.append(unknown)
    delivered.append(d(CLIENTS[3][2], SKUS[0][0], _pl(15), "1.00", vendor=VENDOR,
                       name=CLIENTS[3][3]))
    for row, ref in zip(promised, local_refs(data), strict=False):
        row["description"] += " " + ref
    return {"delivered": delivered, "promised": promised, "billed": billed}


def _pax8(period: Period) -> dict[str, list[dict[str, object]]]:
    cid, cname, _, _ = CLIENTS[4]
    item = {
        "id": "6018366c-f658-47a7-9ed3-4fe53a096533", "type": "subscription",
        "purchaseOrderNumber": "N/A", "companyId": "cc0ac255-7c0b-4123-ac8d-a6c280b85eae",
        "externalId": cid, "companyName": f"Pax8 {cname} {_pl(3)}",
        "startPeriod": f"{period}-01", "endPeriod": f"{period}-28", "quantity": 11,
        "unitOfMeasure": "User", "term": "Monthly", "sku": "MST-NCE-BPR-C100" + _pl(1),
        "description": "Microsoft 365 Business Premium " + _pl(2), "rateType": "single",
        "chargeType": "per", "price": 22, "subTotal": 242.0, "cost": 18.7, "costTotal": 205.7,
        "offeredBy": "Pax8", "billedByPax8": False, "total": 261.36,
        "productId": "4f76b357-9ac1-47fa-9369-feb80a32f87e",
        "productName": "Microsoft 365 Business Premium " + _pl(0), "billingFee": 0,
        "billingFeeRate": 0, "amountDue": 261.36, "currencyCode": "USD", "salesTax": 19.36,
        "subscriptionId": "0b3510b0-b46e-41da-b170-17a6205738d1", "vendorName": "Microsoft",
    }
    return {"content": [item], "page": {"size": 200, "totalElements": 1, "totalPages": 1,
                                        "number": 0}}


def build_hostile(root: Path) -> Path:
    """Write the hostile workspace under ``root`` (two months); return the workspace folder.

    Input files get payload names; ``data/canary.txt`` holds :data:`CANARY`, which a report
    must never embed although descriptions reference it by absolute path (:func:`local_refs`).
    """
    data = root / "data"
    products = [(VENDOR, sku, product, "1") for sku, product in SKUS]
    products.append(("pax8", "MST-NCE-BPR-C100" + _pl(1), SKUS[0][1], "1"))
    clients = [(VENDOR, vid, "", cid) for cid, _, vid, _ in CLIENTS]
    for period, bump in ((PREVIOUS, 3), (PERIOD, 0)):
        build(data, products=products, clients_map=clients, period=period,
              **_month(data, period, bump))
        folder = data / "inputs" / str(period)
        # names that are payloads themselves ('/' cannot be in a file name)
        (folder / "usage.csv").rename(folder / 'usage <img src=x onerror="window.__xss=2">.csv')
        (folder / "agreements.csv").rename(folder / "agreements <svg onload=window.__xss=5>.csv")
        (folder / "invoices.csv").rename(folder / "invoices {{7*7}} $$x$$.csv")
        (folder / "pax8 <script>window.__xss=1<script>.json").write_text(
            json.dumps(_pax8(period), indent=2), encoding="utf-8")
    (data / "canary.txt").write_text(CANARY, encoding="utf-8")
    return data
