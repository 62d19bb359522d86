"""Stateful fakes of the PSA write endpoints (APIS.md sections 0, 1, 2) for recon apply tests.

:class:`FakeConnectWise` and :class:`FakeAutotask` keep the PSA's objects in memory, seeded
from a month's export files (the records the loaders read), and serve the documented reads
and writes on the fake server (``FakeApi.fallback``), every request recorded by ``FakeApi``.
The next writes can be told to misbehave (:meth:`Fake.fail`):

* ``"429"``: 429 with ``Retry-After: 1``, nothing committed;
* ``"500"`` / ``"409"``: that status, nothing committed;
* ``"500+"``: committed, then answered 500;
* ``"timeout+"``: committed, then the answer is held past the client's timeout;
* ``"drop+"``: committed, then the connection closes mid-body;
* ``"ignore"``: answered as a success, nothing committed (a read-back then disagrees).

``hold_at = n`` holds the answer of the n-th committed write forever and sets ``reached``
(a test kills the client there: the write landed, the client never learned it).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.fake_api import FakeApi, Reply, Seen
from tests.fake_vendors import AT, CW

CW_ERROR = {"code": "InvalidObject", "message": "addition object is invalid",
            "errors": [{"code": "InvalidObject", "message": "bad value", "resource": "addition"}]}


def _num(value: Any) -> Decimal:
    return Decimal(str(value))


class Fake:
    """What both fakes share: the server hook, fault queue, commit count and lock."""

    root = ""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.lock = threading.Lock()
        self.faults: deque[str] = deque()
        self.read_faults: deque[str] = deque()
        self.commits: list[tuple[str, str]] = []
        self.hold_at: int | None = None
        self.reached = threading.Event()
        api.fallback = self.handle

    def fail(self, *modes: str) -> None:
        """Misbehave on the next writes, one mode each (module docstring)."""
        self.faults.extend(modes)

    def fail_reads(self, *modes: str) -> None:
        """Answer the next reads with these statuses ("500", "429")."""
        self.read_faults.extend(modes)

    def handle(self, seen: Seen) -> Reply:
        if not seen.path.startswith(self.root):
            return Reply(599, {"fake": f"unexpected {seen.method} {seen.target}"})
        path = seen.path[len(self.root):]
        if self.is_read(seen.method, path):
            if self.read_faults:
                status = int(self.read_faults.popleft())
                return Reply(status, {"errors": ["busy"]}, headers={"Retry-After": "1"})
            with self.lock:
                return self.read(seen, path)
        mode = self.faults.popleft() if self.faults else ""
        if mode in ("429", "500", "409"):
            return Reply(int(mode), CW_ERROR, headers={"Retry-After": "1"})
        if mode == "ignore":
            with self.lock:
                return self.ignored(seen, path)
        with self.lock:
            reply = self.write(seen, path)
            if reply.status < 300:
                self.commits.append((seen.method, seen.path))
                if self.hold_at is not None and len(self.commits) == self.hold_at:
                    self.reached.set()
                    return replace(reply, hold=threading.Event())  # never released
        if reply.status >= 300 or not mode:
            return reply
        if mode == "500+":
            return Reply(500, {"errors": ["the server failed after saving"]})
        if mode == "timeout+":
            return replace(reply, hold=self.api.hold())
        if mode == "drop+":
            return replace(reply, truncate=3)
        raise AssertionError(f"unknown fault {mode}")

    def is_read(self, method: str, path: str) -> bool:
        raise NotImplementedError

    def read(self, seen: Seen, path: str) -> Reply:
        raise NotImplementedError

    def write(self, seen: Seen, path: str) -> Reply:
        raise NotImplementedError

    def ignored(self, seen: Seen, path: str) -> Reply:
        """A success answer for a write that was not carried out."""
        raise NotImplementedError

    def writes(self) -> list[Seen]:
        """Every non-read request the server received (committed or not)."""
        return [r for r in self.api.requests if r.path.startswith(self.root)
                and not self.is_read(r.method, r.path[len(self.root):])]


_ADDITION = re.compile(r"/finance/agreements/(\d+)/additions(?:/(\d+))?")


class FakeConnectWise(Fake):
    """Agreement additions: GET one / list, PATCH (JSON Patch), POST."""

    root = CW

    def __init__(self, api: FakeApi, additions: list[dict[str, Any]]) -> None:
        super().__init__(api)
        self.additions = {int(a["id"]): json.loads(json.dumps(a)) for a in additions}
        self.next_id = 90_000
        self.stamp = 0

    @classmethod
    def from_month(cls, api: FakeApi, month: Path) -> FakeConnectWise:
        """Seeded from every ConnectWise additions file of a month folder."""
        records = []
        for path in sorted(month.glob("*.json")):
            doc = json.loads(path.read_text("utf-8"))
            if isinstance(doc, list) and doc and "agreementId" in doc[0]:
                records += doc
        return cls(api, records)

    def touch(self, record: dict[str, Any]) -> None:
        self.stamp += 1
        record["_info"] = {"lastUpdated": f"2026-12-04T09:{self.stamp // 60:02d}:"
                           f"{self.stamp % 60:02d}Z", "updatedBy": "recon-api"}

    def quantity(self, addition: int) -> Decimal:
        return _num(self.additions[addition]["quantity"])

    def is_read(self, method: str, path: str) -> bool:
        return method == "GET"

    def read(self, seen: Seen, path: str) -> Reply:
        m = _ADDITION.fullmatch(path)
        if not m:
            return Reply(404, CW_ERROR)
        agreement, addition = int(m[1]), m[2]
        if addition is None:
            return Reply(body=[a for a in self.additions.values()
                               if int(a["agreementId"]) == agreement])
        found = self.additions.get(int(addition))
        if found is None or int(found["agreementId"]) != agreement:
            return Reply(404, {"code": "NotFound", "message": "Addition not found"})
        return Reply(body=found)

    def ignored(self, seen: Seen, path: str) -> Reply:
        if seen.method == "PATCH":
            return self.read(replace(seen, method="GET", body=b""), path)
        return Reply(201, {"id": 12345})

    def write(self, seen: Seen, path: str) -> Reply:
        m = _ADDITION.fullmatch(path)
        if not m:
            return Reply(404, CW_ERROR)
        body = json.loads(seen.body or b"null", parse_float=Decimal)
        if seen.method == "POST" and m[2] is None:
            return self._create(int(m[1]), body)
        found = self.additions.get(int(m[2] or 0))
        if seen.method != "PATCH" or found is None:
            return Reply(404, {"code": "NotFound", "message": "Addition not found"})
        if not isinstance(body, list) or not body:
            return Reply(400, CW_ERROR)
        for op in body:
            field = str(op.get("path", "")).lstrip("/")
            if op.get("op") != "replace" or field not in ("quantity", "cancelledDate"):
                return Reply(400, CW_ERROR)
            found[field] = (float(op["value"]) if isinstance(op["value"], Decimal)
                            else op["value"])
        self.touch(found)
        return Reply(body=found)

    def _create(self, agreement: int, body: Any) -> Reply:
        product = (body or {}).get("product") or {}
        if not product.get("identifier") or body.get("billCustomer") not in (
                "Billable", "DoNotBill", "NoCharge"):
            return Reply(400, CW_ERROR)
        self.next_id += 1
        record = {"id": self.next_id, "agreementId": agreement,
                  "product": {"id": 399, "identifier": product["identifier"]},
                  "quantity": body.get("quantity", 0), "lessIncluded": 0,
                  "unitPrice": body.get("unitPrice", 0), "billCustomer": body["billCustomer"],
                  "effectiveDate": body.get("effectiveDate"), "cancelledDate": None}
        record = json.loads(json.dumps(record, default=float))
        self.touch(record)
        self.additions[self.next_id] = record
        return Reply(201, record)


def at_day(text: str) -> date:
    """An Autotask local-midnight-in-UTC date-time as its day (the nearest midnight)."""
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (instant + timedelta(hours=12)).date()


def at_text(day: date) -> str:
    return f"{day.isoformat()}T05:00:00.000Z"


def _month_end(day: date) -> date:
    first_next = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_next - timedelta(days=1)


_ADJUST = re.compile(r"/Contracts/(\d+)/ServiceAdjustments")


class FakeAutotask(Fake):
    """ContractServiceUnits (query) and ServiceAdjustments (create only), split at the date."""

    root = AT

    def __init__(self, api: FakeApi, units: list[dict[str, Any]],
                 services: list[dict[str, Any]]) -> None:
        super().__init__(api)
        self.units = [dict(u) for u in units]
        self.services = {int(s["id"]): dict(s) for s in services}
        self.adjustments: list[dict[str, Any]] = []
        self.next_row, self.next_service = 700_000_000, 800_000

    @classmethod
    def from_month(cls, api: FakeApi, month: Path) -> FakeAutotask:
        docs = {p.name: json.loads(p.read_text("utf-8")) for p in month.glob("at-*.json")}
        return cls(api, docs["at-contract-service-units.json"]["items"],
                   docs["at-contract-services.json"]["items"])

    def rows(self, contract: int, service: int) -> list[dict[str, Any]]:
        return sorted((u for u in self.units if int(u["contractID"]) == contract
                       and int(u["serviceID"]) == service), key=lambda u: at_day(u["startDate"]))

    def units_at(self, contract: int, service: int, day: date) -> Decimal | None:
        """Units standing on ``day`` (the latest row starting by then), None without rows."""
        started = [u for u in self.rows(contract, service) if at_day(u["startDate"]) <= day]
        return _num(started[-1]["units"]) if started else None

    def is_read(self, method: str, path: str) -> bool:
        return path.endswith("/query") or method == "GET"

    def read(self, seen: Seen, path: str) -> Reply:
        if path != "/ContractServiceUnits/query":
            return Reply(404, {"errors": [f"no fake for {path}"]})
        filters = json.loads(seen.body)["filter"]
        items = [u for u in self.units
                 if all(f["op"] == "eq" and str(u.get(f["field"])) == str(f["value"])
                        for f in filters)]
        return Reply(body={"items": items, "pageDetails": {
            "count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}})

    def ignored(self, seen: Seen, path: str) -> Reply:
        return Reply(body={"itemId": 99_999})

    def write(self, seen: Seen, path: str) -> Reply:
        m = _ADJUST.fullmatch(path)
        body = json.loads(seen.body or b"{}")
        change = body.get("unitChange")
        if (seen.method != "POST" or not m or body.get("contractID") != int(m[1])
                or not isinstance(change, int) or isinstance(change, bool)
                or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00", str(body.get("effectiveDate")))):
            return Reply(500, {"errors": ["ContractServiceAdjustment: invalid request"]})
        day = date.fromisoformat(body["effectiveDate"][:10])
        self._adjust(int(m[1]), int(body["serviceID"]), day, change)
        self.adjustments.append(body)
        return Reply(body={"itemId": 60_000 + len(self.adjustments)})

    def _adjust(self, contract: int, service: int, day: date, change: int) -> None:
        rows = self.rows(contract, service)
        if not rows:  # Autotask creates the contract service
            self.next_service += 1
            self.services[self.next_service] = {"id": self.next_service, "contractID": contract,
                                                "serviceID": service}
            self._row(contract, self.next_service, service, 0, day, _month_end(day))
            rows = self.rows(contract, service)
        later = [u for u in rows if at_day(u["startDate"]) >= day]
        starts = {at_day(u["startDate"]) for u in rows}
        covering = [u for u in rows if at_day(u["startDate"]) < day <= at_day(u["endDate"])
                    and day not in starts]  # a row ending on the day another starts: split
        for row in covering:  # split: the old row ends on the date, a new one starts there
            piece = self._row(contract, int(row["contractServiceID"]), service,
                              int(row["units"]), day, at_day(row["endDate"]))
            row["endDate"] = at_text(day)
            later.append(piece)
        if not later:  # past the last period: the units carry on from the date
            last = rows[-1]
            later.append(self._row(contract, int(last["contractServiceID"]), service,
                                   int(last["units"]), day, _month_end(day)))
        for row in later:
            row["units"] = int(row["units"]) + change

    def _row(self, contract: int, contract_service: int, service: int, units: int,
             start: date, end: date) -> dict[str, Any]:
        self.next_row += 1
        row = {"id": self.next_row, "contractID": contract, "contractServiceID": contract_service,
               "serviceID": service, "units": units, "price": 0, "cost": 0,
               "startDate": at_text(start), "endDate": at_text(end), "approveAndPostDate": None}
        self.units.append(row)
        return row
