"""The expected invoice of a month: what each client should be billed, line by line.

Pure functions over a :class:`~recon_helpers.reconcile.result.Reconciliation` (``three_way``,
``month``, ``findings``) and the month's decisions (``latest_decisions``). Every line names the
input rows (``file:row``) and ledger entries (``ledger.sqlite:<seq>``) it comes from.

Rules (also in the README, "Invoicing, statements and margins"):

* **recurring**: one line per client x product x currency with a live billable agreement
  line: quantity = agreement quantity - included units under the month rule, at the agreed
  unit price (three_way's price). Zero quantities give no line.
* **true_up**: one line per quantity finding (``under_billed``, ``over_billed``,
  ``billed_not_delivered``, ``unbilled_service``) without a decision: the difference at the
  agreed price (an unbilled service at the catalogue price; without one the line has no price
  and must be priced before import). Its amount equals the finding's impact.
* ``invoice_mismatch`` and ``price_mismatch`` add nothing: the expected invoice already bills
  the agreement at the agreed price, which is what corrects the invoice.
* Decisions (latest per finding; ``escalate``, ``reopen`` and ``fix_mapping`` change nothing):
  ``accept`` keeps the agreement as is (drops the finding's true-up); ``adjust_agreement``
  with ``new_quantity`` N makes the recurring quantity N; ``adjust_invoice`` with N bills N
  this month (a true-up of N - recurring); ``credit_client`` drops the true-up and adds a
  credit line of minus the absolute impact (the decision's ``impact`` when recorded, else the
  finding's), quantity 1. An adjust decision on any finding of a client x product replaces its
  automatic true-ups; several adjust decisions: the latest (ledger seq) wins.
* Amounts are quantity x unit price rounded half up to the cent; unit prices are exact.

Example:
    >>> lines = expected_invoice(rec, latest_decisions(ws, "2026-10"))
    >>> write_table(invoice_for_export(lines), "invoice.xlsx")
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import CENT, money, qty
from recon_helpers.reconcile.result import Reconciliation

LINE_TYPES = ("recurring", "true_up", "credit")
TRUE_UP_KINDS = ("under_billed", "over_billed", "billed_not_delivered", "unbilled_service")
# findings whose impact is money between the MSP and the client (credit_client applies)
CREDIT_KINDS = (*TRUE_UP_KINDS, "invoice_mismatch", "price_mismatch")
NO_EFFECT = frozenset({"", "escalate", "reopen", "fix_mapping"})
LEDGER_SOURCE = "ledger.sqlite"
INVOICE_COLUMNS = ("period", "client_id", "client_name", "product_id", "description",
                   "quantity", "unit_price", "amount", "currency", "line_type", "explanation",
                   "decision", "sources")
DECISION_FIELDS = ("key", "action", "seq", "new_quantity", "impact")


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _amount(quantity: Decimal | None, price: Decimal | None) -> Decimal | None:
    if quantity is None or price is None:
        return None
    return (quantity * price).quantize(CENT, ROUND_HALF_UP)


def _n(value: Decimal | None) -> str:
    """A quantity or price for a sentence: exact, prices padded to cents."""
    return "?" if value is None else f"{value:,f}"


def _price_text(value: Decimal | None) -> str:
    if value is None:
        return "?"
    return f"{value.quantize(CENT) if value.as_tuple().exponent > -2 else value:,f}"  # type: ignore[operator]


def _sources(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """``file:row`` per key joined with ';', ordered by file then row number."""
    src = frame[[*keys, "source"]].drop_duplicates()
    parts = src["source"].str.rsplit(":", n=1, expand=True)
    src = src.assign(_f=parts[0], _r=pd.to_numeric(parts[1], errors="coerce"))
    src = src.sort_values([*keys, "_f", "_r"], kind="stable")
    return src.groupby(keys, sort=False)["source"].agg(";".join)


def _key(line: dict[str, Any]) -> tuple[str, str, str]:
    return line["client_id"], line["product_id"], line["currency"]


def _descriptions(rec: Reconciliation, frame: pd.DataFrame) -> list[str]:
    """Product description per line: the client's agreement line's, else the catalogue's,
    else the product id."""
    cat = rec.loaded.catalogue.drop_duplicates("product_id", keep="last")
    by_product = dict(zip(cat["product_id"], cat["description"], strict=True))
    pm = rec.month.promised
    first = pm[pm["description"].ne("")].drop_duplicates(["client_id", "product_id"])
    by_key = dict(zip(zip(first["client_id"], first["product_id"], strict=True),
                      first["description"], strict=True))
    return [by_key.get((c, p)) or by_product.get(p) or p
            for c, p in zip(frame["client_id"], frame["product_id"], strict=True)]


def _recurring(rec: Reconciliation) -> pd.DataFrame:
    """One recurring line per key with billable agreement lines (vectorised over three_way)."""
    tw = rec.three_way[rec.three_way["agreement_lines"] > 0]
    pm = rec.month.promised
    keys = ["client_id", "product_id", "currency"]
    src = _sources(pm[pm["billable"]], keys) if len(pm) else pd.Series(dtype=object)
    out = pd.DataFrame({
        "client_id": tw["client_id"], "product_id": tw["product_id"], "currency": tw["currency"],
        "quantity": (tw["agreement_qty"] - tw["less_included"]).map(qty),
        "unit_price": tw["unit_price"].astype(object).map(money),
    })
    out["sources"] = [src.get(k, "") for k in zip(out["client_id"], out["product_id"],
                                                  out["currency"], strict=True)]
    return out.reset_index(drop=True)


def _decision_map(decisions: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if decisions is None or decisions.empty:
        return {}
    latest = decisions.sort_values("seq", kind="stable").drop_duplicates("key", keep="last")
    return {r["key"]: r for r in latest[list(DECISION_FIELDS)].to_dict("records")}


def _decimal(value: Any) -> Decimal | None:
    if _missing(value) or str(value).strip() == "":
        return None
    return Decimal(str(value))


def _true_up_text(kind: str, f: pd.Series, price: Decimal | None) -> str:
    d, a = f["vendor_qty"], f["agreement_qty"]
    if kind == "under_billed":
        return (f"{_n(d)} in use, {_n(a)} on the agreement: {_n(d - a)} more at "
                f"{_price_text(price)} each")
    if kind == "over_billed":
        return (f"{_n(d)} in use, {_n(a)} on the agreement: {_n(a - d)} fewer, credited at "
                f"{_price_text(price)} each")
    if kind == "billed_not_delivered":
        return f"not in use this month: the {_n(a)} on the agreement are credited"
    return f"{_n(d)} in use, not yet on the agreement: billed at {_price_text(price)} each"


def expected_invoice(
    rec: Reconciliation, decisions: pd.DataFrame | None = None, client_ids: Sequence[str] = ()
) -> pd.DataFrame:
    """The expected invoice lines of the month (see the module rules).

    Args:
        rec: the month's reconciliation.
        decisions: ``latest_decisions(workspace, period)`` (key, action, seq, new_quantity,
            impact, ...);
            None or empty = nothing decided.
        client_ids: clients to keep; empty = all.

    Returns:
        INVOICE_COLUMNS, one row per line; quantity, unit_price and amount are Decimals
        (unit_price and amount None when no price is known), ordered by client, product,
        currency and line type.
    """
    decided = _decision_map(decisions)
    base = _recurring(rec)
    keys = list(zip(base["client_id"], base["product_id"], base["currency"], strict=True))
    recurring = {k: dict(r) for k, r in zip(keys, base.to_dict("records"), strict=True)}
    for r in recurring.values():
        r.update(line_type="recurring", explanation="monthly service as agreed", decision="")
    extra: list[dict[str, Any]] = []
    targets: dict[tuple[str, str, str], tuple[int, str, Decimal, pd.Series]] = {}
    prices = dict(zip(zip(rec.three_way["client_id"], rec.three_way["product_id"],
                          rec.three_way["currency"], strict=True),
                      rec.three_way["unit_price"].astype(object).map(money), strict=True))
    f_all = rec.findings[rec.findings["client_id"].ne("") & rec.findings["product_id"].ne("")]
    for _, f in f_all.iterrows():  # findings are few: one decision lookup per finding
        key = (f["client_id"], f["product_id"], f["currency"])
        dec = decided.get(f["key"], {})
        action = str(dec.get("action", "") or "")
        ledger_src = f"{LEDGER_SOURCE}:{dec['seq']}" if action else ""
        new_qty = _decimal(dec.get("new_quantity"))
        if action in ("adjust_agreement", "adjust_invoice") and new_qty is not None:
            seq = int(dec["seq"])
            if key not in targets or targets[key][0] < seq:
                targets[key] = (seq, action, new_qty, f)
            continue
        if action == "credit_client" and f["kind"] in CREDIT_KINDS:
            impact = _decimal(dec.get("impact")) or f["impact"]
            if isinstance(impact, Decimal) and impact != 0:
                credit = -abs(impact).quantize(CENT, ROUND_HALF_UP)
                extra.append({"client_id": key[0], "product_id": key[1], "currency": key[2],
                              "quantity": Decimal(1), "unit_price": credit, "amount": credit,
                              "line_type": "credit", "decision": action,
                              "explanation": f"credit of {_price_text(-credit)}",
                              "sources": ";".join(s for s in (f["sources"], ledger_src) if s)})
            continue
        if f["kind"] not in TRUE_UP_KINDS or (action not in NO_EFFECT):
            continue  # accept (and adjust_invoice without a quantity) keep the agreement
        price = f["unit_price"] if isinstance(f["unit_price"], Decimal) else None
        if f["kind"] == "billed_not_delivered":
            quantity = -(recurring[key]["quantity"] if key in recurring else f["agreement_qty"])
        elif f["kind"] == "unbilled_service":
            quantity = f["vendor_qty"]
        else:
            quantity = f["variance_qty"]
        extra.append({"client_id": key[0], "product_id": key[1], "currency": key[2],
                      "quantity": quantity, "unit_price": price, "line_type": "true_up",
                      "decision": action, "explanation": _true_up_text(f["kind"], f, price),
                      "sources": f["sources"]})
    for key, (seq, action, new_qty, f) in targets.items():
        src = f"{LEDGER_SOURCE}:{seq}"
        extra = [e for e in extra if not (e["line_type"] == "true_up" and _key(e) == key)]
        price = prices.get(key)
        if price is None and isinstance(f["unit_price"], Decimal):
            price = f["unit_price"]  # no agreement price: the catalogue's
        current = recurring[key]["quantity"] if key in recurring else Decimal(0)
        sources = ";".join(s for s in (f["sources"], src) if s)
        if action == "adjust_agreement":
            line = recurring.setdefault(key, {"client_id": key[0], "product_id": key[1],
                                              "currency": key[2], "unit_price": price})
            line.update(quantity=new_qty, line_type="recurring", decision=action,
                        sources=sources,
                        explanation=f"agreement changed from {_n(current)} to {_n(new_qty)}")
        elif new_qty != current:
            extra.append({"client_id": key[0], "product_id": key[1], "currency": key[2],
                          "quantity": new_qty - current, "unit_price": price,
                          "line_type": "true_up", "decision": action, "sources": sources,
                          "explanation": f"quantity corrected from {_n(current)} to "
                                         f"{_n(new_qty)}"})
    return _finish(rec, [*recurring.values(), *extra], client_ids)


def _finish(rec: Reconciliation, rows: list[dict[str, Any]], client_ids: Sequence[str]
            ) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[c for c in INVOICE_COLUMNS if c not in
                                        ("period", "client_name", "description")])
    if client_ids:
        frame = frame[frame["client_id"].isin(list(client_ids))]
    frame = frame[frame["quantity"].map(lambda q: q is not None and q != 0)
                  | frame["line_type"].eq("credit")]
    frame = frame.astype(object).where(frame.notna(), None)
    frame["unit_price"] = [None if _missing(p) else p for p in frame["unit_price"]]
    frame["amount"] = [a if a is not None and t == "credit" else _amount(q, p) for a, q, p, t in
                       zip(frame["amount"], frame["quantity"], frame["unit_price"],
                           frame["line_type"], strict=True)]
    names = rec.clients.drop_duplicates("client_id").set_index("client_id")["client_name"]
    frame["client_name"] = frame["client_id"].map(names).fillna("").astype(object)
    frame["description"] = _descriptions(rec, frame)
    frame["period"] = str(rec.period)
    for col in ("decision", "explanation", "sources"):
        frame[col] = frame[col].fillna("").astype(object)
    rank = {t: i for i, t in enumerate(LINE_TYPES)}
    frame = frame.assign(_t=frame["line_type"].map(rank)).sort_values(
        ["client_id", "product_id", "currency", "_t"], kind="stable")
    return frame[list(INVOICE_COLUMNS)].reset_index(drop=True)


def invoice_totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Amount per client and currency, split by line type (Decimals; unpriced lines counted).

    Returns:
        DataFrame (client_id, client_name, currency, recurring, true_up, credit, total,
        unpriced_lines).
    """
    cols = ["client_id", "client_name", "currency", *LINE_TYPES, "total", "unpriced_lines"]
    rows = []
    for (cid, name, cur), grp in lines.groupby(["client_id", "client_name", "currency"],
                                               sort=True):
        row: dict[str, Any] = {"client_id": cid, "client_name": name, "currency": cur}
        for t in LINE_TYPES:
            row[t] = sum((a for a, lt in zip(grp["amount"], grp["line_type"], strict=True)
                          if lt == t and a is not None), Decimal("0.00"))
        row["total"] = sum((row[t] for t in LINE_TYPES), Decimal("0.00"))
        row["unpriced_lines"] = int(grp["amount"].isna().sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _money_text(value: Any) -> Any:
    """Prices and amounts padded to cents (never rounded) so a PSA import reads money."""
    if isinstance(value, Decimal) and value.as_tuple().exponent > -2:  # type: ignore[operator]
        return value.quantize(CENT)
    return value


def invoice_for_export(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines in the PSA import shape written by ``recon invoice`` (Decimals kept exact).

    Columns: INVOICE_COLUMNS; unit_price and amount padded to cents, missing values empty.
    """
    out = lines.copy()
    for col in ("unit_price", "amount"):
        out[col] = out[col].map(_money_text).astype(object)
    return out.astype(object).where(out.notna(), "")


def canonical_billed(lines: pd.DataFrame, invoice_prefix: str = "EXP") -> pd.DataFrame:
    """The lines as a SPEC canonical billed CSV (one invoice per client and currency).

    Invoice numbers are ``<prefix>-<period>-<client_id>[-<currency>]``, dated the first of the
    month, covering the month; unpriced lines are left out.
    """
    priced = lines[lines["amount"].notna()]
    out = pd.DataFrame(columns=["client_id", "invoice_number", "invoice_date", "product_id",
                                "description", "quantity", "unit_price", "amount", "currency",
                                "period_start", "period_end"])
    if priced.empty:
        return out
    month = Period.parse(priced["period"].iloc[0])
    first, last = month.first, month.last
    multi = priced.groupby("client_id")["currency"].transform("nunique").gt(1)
    number = invoice_prefix + "-" + priced["period"] + "-" + priced["client_id"]
    number = number.where(~multi, number + "-" + priced["currency"])
    return pd.DataFrame({
        "client_id": priced["client_id"], "invoice_number": number,
        "invoice_date": first.isoformat(), "product_id": priced["product_id"],
        "description": priced["description"], "quantity": priced["quantity"],
        "unit_price": priced["unit_price"].map(_money_text), "amount": priced["amount"],
        "currency": priced["currency"], "period_start": first.isoformat(),
        "period_end": last.isoformat(),
    }).reset_index(drop=True)
