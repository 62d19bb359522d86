"""A ConnectWise workspace with many clients, each under-billed on one addition.

Real ConnectWise export shapes (companies, agreements, additions as the REST API returns them)
plus a canonical delivered CSV of Huntress agents, mapped by ``mappings/``: client ``k`` has 10
agents on its agreement and ``11 + k % 7`` delivered, so every client gives one
``under_billed`` finding on its own addition (id ``70000 + k``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from recon_helpers.core.workspace import Workspace


def client_id(k: int) -> str:
    return f"CLIENT{k:03d}"


def delivered(k: int) -> int:
    return 11 + k % 7


def build_cw(root: Path, clients: int, period: str = "2026-10") -> Workspace:
    """Write the workspace (inputs, mappings) and open it."""
    month = root / "inputs" / period
    month.mkdir(parents=True)
    companies, agreements, additions, usage = [], [], [], []
    for k in range(1, clients + 1):
        ref = {"id": 100 + k, "identifier": client_id(k), "name": f"Client {k}"}
        companies.append({**ref, "deletedFlag": False})
        agreements.append({"id": 2000 + k, "name": f"Managed Services {k}", "company": ref,
                           "agreementStatus": "Active", "startDate": "2025-01-01T00:00:00Z",
                           "endDate": None, "cancelledFlag": False, "dateCancelled": None})
        additions.append({
            "id": 70_000 + k, "agreementId": 2000 + k,
            "product": {"id": 310, "identifier": "MDR-HUNT"}, "quantity": 10,
            "lessIncluded": 0, "unitPrice": 5.0, "unitCost": 2.5, "billCustomer": "Billable",
            "effectiveDate": "2025-01-01T00:00:00Z", "cancelledDate": None,
            "description": "Huntress managed EDR",
            "_info": {"lastUpdated": "2026-10-02T16:20:45Z", "updatedBy": "billing"}})
        usage.append({"vendor": "huntress", "vendor_customer_id": f"hnt-{k}",
                      "vendor_customer_name": f"Client {k}", "vendor_sku": "agents",
                      "sku_name": "agents", "quantity": str(delivered(k)), "unit_cost": "2.50",
                      "currency": "USD", "charge_start": "", "charge_end": ""})
    for name, doc in (("cw-companies.json", companies), ("cw-agreements.json", agreements),
                      ("cw-agreement-additions.json", additions)):
        (month / name).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    _csv(month / "huntress-usage.csv", usage)
    maps = root / "mappings"
    maps.mkdir()
    _csv(maps / "products.csv", [{"vendor": "huntress", "vendor_sku": "agents",
                                  "product_id": "MDR-HUNT", "units_per_product": "1"}])
    _csv(maps / "clients.csv", [{"vendor": "huntress", "vendor_customer_id": f"hnt-{k}",
                                 "vendor_customer_name": "", "client_id": client_id(k)}
                                for k in range(1, clients + 1)])
    return Workspace.open(root)


def _csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
