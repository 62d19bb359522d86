"""How each PSA reads and writes the object a change names (ConnectWise, Autotask).

A driver answers three questions for :mod:`~recon_helpers.billing.apply`:

* :meth:`read`: what the PSA shows now for the change's field, as the plan writes values
  (``"12"``, ``"2026-10-31"``, ``""`` for none) with the object's version and id;
* :meth:`request`: the one write that makes it so (method, path, JSON body);
* :meth:`returned_id`: the id the PSA gave the written object.

ConnectWise (APIS.md section 1): the addition is read with ``GET .../additions/{id}``
(``quantity``, ``cancelledDate``, ``_info.lastUpdated``); a quantity or end is a ``PATCH``
with a JSON Patch array (``[{"op": "replace", "path": "quantity", "value": 12}]``, the path
without a leading slash as the documented clients send it); a new line is a ``POST`` of an
addition (``product.identifier``, ``quantity``, ``billCustomer: Billable``, ``effectiveDate``,
``unitPrice`` when known), found again by listing the agreement's additions: one of the
product not cancelled before the effective date.

Autotask (section 2): the units standing on the effective date are read from
``ContractServiceUnits`` of the contract and service (the row covering the date, else the
latest row starting before it: a row ends with its billing period and the units carry on);
the write is ``POST Contracts/{id}/ServiceAdjustments`` with ``unitChange`` = new - current
(a delta, which is why the read before it matters) and ``effectiveDate``. Row dates are local
midnight in UTC, read like the loader does (``[autotask] timezone``, else the nearest day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import pandas as pd

from recon_helpers.billing.writeback import Change, text
from recon_helpers.connect.http import ApiResponse
from recon_helpers.connect.writeback import PsaApi, exact_json
from recon_helpers.core.errors import ApiError
from recon_helpers.ingest.parsing import parse_dates

MISSING = "(no such object)"


@dataclass(frozen=True)
class Reading:
    """What the PSA shows now: the field's value as plan text, the object's version and id."""

    value: str
    version: str = ""
    psa_id: str = ""


@dataclass(frozen=True)
class Request:
    """One write: method, path (relative to the PSA's base URL), JSON body."""

    method: str
    path: str
    body: Any


class Driver(Protocol):
    """A PSA's reads and writes for :mod:`recon_helpers.billing.apply`."""

    psa: PsaApi

    def read(self, change: Change) -> Reading: ...

    def request(self, change: Change) -> Request: ...

    def returned_id(self, change: Change, response: ApiResponse) -> str: ...


def number(value: str) -> int | float:
    """A plan quantity as the JSON number the APIs take (exact: at most 4 decimals)."""
    exact = Decimal(value)
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def _day(value: Any) -> str:
    """The date part of a ConnectWise date-time (``2026-10-31T00:00:00Z``), ``""`` for null."""
    return str(value)[:10] if value not in (None, "") else ""


class ConnectWise:
    """Agreement additions (see the module docstring)."""

    def __init__(self, psa: PsaApi) -> None:
        self.psa = psa

    def _path(self, change: Change, line_id: str = "") -> str:
        base = f"/finance/agreements/{change.agreement_id}/additions"
        return f"{base}/{line_id}" if line_id else base

    def read(self, change: Change) -> Reading:
        """The addition's quantity or cancelledDate; for a new line the live addition."""
        if change.op == "new_line":
            return self._find_new(change)
        try:
            doc = self.psa.get_json(self._path(change, change.line_id))
        except ApiError as exc:
            if exc.status == 404:
                return Reading(MISSING)
            raise
        info = doc.get("_info") if isinstance(doc, dict) else None
        version = str(info.get("lastUpdated") or "") if isinstance(info, dict) else ""
        value = (_day(doc.get("cancelledDate")) if change.field == "cancelledDate"
                 else text(doc.get("quantity")))
        return Reading(value, version, str(doc.get("id", change.line_id)))

    def _find_new(self, change: Change) -> Reading:
        start = change.effective_date
        live = [a for a in self.psa.pages(self._path(change)) if isinstance(a, dict)
                and str((a.get("product") or {}).get("identifier", "")).casefold()
                == change.service_id.casefold()
                and (not _day(a.get("cancelledDate")) or _day(a.get("cancelledDate")) >= start)]
        if not live:
            return Reading("")
        if len(live) > 1:
            ids = ", ".join(str(a.get("id")) for a in live)
            return Reading(f"{len(live)} additions ({ids})")
        found = live[0]
        info = found.get("_info") or {}
        return Reading(text(found.get("quantity")), str(info.get("lastUpdated") or ""),
                       str(found.get("id", "")))

    def request(self, change: Change) -> Request:
        """The PATCH (quantity, cancelledDate) or POST (new addition) of the change."""
        if change.op == "new_line":
            body: dict[str, Any] = {
                "product": {"identifier": change.service_id},
                "quantity": number(change.new), "billCustomer": "Billable",
                "effectiveDate": f"{change.effective_date}T00:00:00Z"}
            if change.unit_price:
                body["unitPrice"] = number(change.unit_price)
            return Request("POST", self._path(change), body)
        if change.field == "cancelledDate":
            value = f"{change.new}T00:00:00Z" if change.new else None
        else:
            value = number(change.new)
        return Request("PATCH", self._path(change, change.line_id),
                       [{"op": "replace", "path": change.field, "value": value}])

    def returned_id(self, change: Change, response: ApiResponse) -> str:
        """The addition's ``id`` in the answer (the line's own for a PATCH)."""
        doc = exact_json(response.content) if response.content else {}
        found = doc.get("id") if isinstance(doc, dict) else None
        return str(found) if found not in (None, "") else change.line_id


class Autotask:
    """Contract service units and service adjustments (see the module docstring)."""

    def __init__(self, psa: PsaApi, timezone: str | None) -> None:
        self.psa = psa
        self.timezone = timezone

    def read(self, change: Change) -> Reading:
        """Units standing on the effective date (``""`` when the service has no rows)."""
        rows = [r for r in self.psa.query("ContractServiceUnits", [
            {"op": "eq", "field": "contractID", "value": _id(change.agreement_id)},
            {"op": "eq", "field": "serviceID", "value": _id(change.service_id)},
        ]) if isinstance(r, dict)]
        if not rows:
            return Reading("")
        frame = pd.DataFrame({"start": [r.get("startDate") for r in rows],
                              "end": [r.get("endDate") for r in rows]})
        start = parse_dates(frame["start"], "iso_local_midnight", timezone=self.timezone)[0]
        end = parse_dates(frame["end"], "iso_local_midnight", timezone=self.timezone)[0]
        day = pd.Timestamp(date.fromisoformat(change.effective_date))
        covering = (start.le(day) & (end.isna() | end.ge(day))).to_numpy()
        before = start.le(day).to_numpy()
        pick = covering if covering.any() else before
        if not pick.any():
            return Reading("")
        index = max((i for i in range(len(rows)) if pick[i]), key=lambda i: start.iloc[i])
        row = rows[index]
        return Reading(text(row.get("units")), "", str(row.get("contractServiceID") or ""))

    def request(self, change: Change) -> Request:
        """``POST Contracts/{id}/ServiceAdjustments`` with the delta from the plan's current."""
        delta = Decimal(change.new) - Decimal(change.current or "0")
        body: dict[str, Any] = {
            "contractID": _id(change.agreement_id), "serviceID": _id(change.service_id),
            "effectiveDate": f"{change.effective_date}T00:00:00", "unitChange": int(delta),
            "allowRepeatService": False, "quoteItemID": None}
        if change.line_id:
            body["contractServiceID"] = _id(change.line_id)
        if change.unit_price:
            body["adjustedUnitPrice"] = number(change.unit_price)
        return Request("POST", f"Contracts/{change.agreement_id}/ServiceAdjustments", body)

    def returned_id(self, change: Change, response: ApiResponse) -> str:
        """The adjustment's ``itemId``."""
        doc = exact_json(response.content) if response.content else {}
        found = doc.get("itemId") if isinstance(doc, dict) else None
        if found in (None, ""):
            raise ApiError("autotask", self.psa.endpoint(self.request(change).path),
                           "the adjustment was answered without its itemId", response.status)
        return str(found)


def _id(value: str) -> int | str:
    """An Autotask id as the integer the API types it as (kept as text if it is not one)."""
    return int(value) if value.isdigit() else value


def driver_for(psa: PsaApi, timezone: str | None) -> Driver:
    """The driver of an open PSA client."""
    return ConnectWise(psa) if psa.psa == "connectwise" else Autotask(psa, timezone)
