"""A pulled month reconciles to the same findings as the same data dropped in by hand.

The demo month's own exports are served through the fake APIs in the shapes the APIs return
(ConnectWise arrays per endpoint and agreement, Pax8 pages, the Microsoft export's gzip JSON
Lines, Datto RMM / SentinelOne / Huntress pages); a second workspace with the same mappings
and settings pulls them; both months' ``recon reconcile --out`` tables must agree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from recon_helpers.cli import main
from recon_helpers.connect.timing import Clock
from recon_helpers.core.period import Period
from tests.api_shapes import nce_blob
from tests.fake_api import FakeApi, Reply
from tests.fake_vendors import CW, MS_MANIFEST, MS_OPERATION, PAX8, SECRETS, config

PERIOD = Period.parse("2026-10")
INVOICE = "G020261077"


def _cw(api: FakeApi, month: Path) -> None:
    def load(name: str) -> list:
        return json.loads((month / name).read_text(encoding="utf-8"))

    for path, name in (("/company/companies", "cw-companies.json"),
                       ("/finance/agreements", "cw-agreements.json"),
                       ("/finance/invoices", "cw-invoices.json"),
                       ("/procurement/products", "cw-invoice-products.json"),
                       ("/procurement/catalog", "cw-catalog.json")):
        api.add("GET", CW + path, Reply(body=(month / name).read_bytes()))
    additions = load("cw-agreement-additions.json")
    for agreement in load("cw-agreements.json"):
        aid = agreement["id"]
        api.json("GET", f"{CW}/finance/agreements/{aid}/additions",
                 [a for a in additions if a["agreementId"] == aid])


def _pax8(api: FakeApi, month: Path) -> None:
    items = json.loads((month / "pax8-invoice-items.json").read_text(encoding="utf-8"))
    rows = items["content"]
    half = len(rows) // 2
    api.json("POST", f"{PAX8}/token", {"access_token": "tok", "expires_in": 86400})
    empty = {"content": [], "page": {"size": 200, "totalElements": 0, "totalPages": 0,
                                     "number": 0}}
    api.json("GET", f"{PAX8}/companies", empty)
    api.json("GET", f"{PAX8}/subscriptions", empty)
    api.json("GET", f"{PAX8}/invoices", {"content": [{"id": "inv-2026-11", "invoiceDate":
                                                      "2026-11-04", "status": "Unpaid"}],
                                         "page": {"size": 200, "totalElements": 1,
                                                  "totalPages": 1, "number": 0}})
    pages = [rows[:half], rows[half:]]
    api.json("GET", f"{PAX8}/invoices/inv-2026-11/items",
             *({"content": p, "page": {"size": 200, "totalElements": len(rows),
                                       "totalPages": 2, "number": n}}
               for n, p in enumerate(pages)))


def _microsoft(api: FakeApi, month: Path) -> None:
    # dates as the demo writes them: it plants a row whose ChargeStartDate is ISO in an M/D/YYYY
    # file (quarantined as bad_date); turned into ISO like the others, it would count
    csv_text = (month / f"{INVOICE}_NCE_recon.csv").read_text(encoding="utf-8")
    blob = nce_blob(csv_text, iso_dates=False)
    token = {"access_token": "ms-tok", "expires_in": 3599, "token_type": "Bearer"}
    api.json("POST", "/login/0e195b37/oauth2/v2.0/token", token, token)
    api.json("GET", "/pc/v1/invoices", {"totalCount": 1, "items": [
        {"id": INVOICE, "billingPeriodStartDate": "2026-10-01T00:00:00Z",
         "billingPeriodEndDate": "2026-10-31T00:00:00Z"}], "links": {}})
    api.add("POST", "/graph/v1.0/reports/partners/billing/reconciliation/billed/export",
            Reply(202, b"", headers={"Location": "{base}" + MS_OPERATION}, content_type=None))
    api.json("GET", MS_OPERATION, {"status": "succeeded",
                                   "resourceLocation@odata.navigationLink": "{base}" + MS_MANIFEST})
    api.json("GET", MS_MANIFEST, {"id": "m1", "eTag": "e1", "blobCount": 1,
                                  "rootDirectory": "{base}/blob/demo", "sasToken": "sp=rl&sig=zz9",
                                  "blobs": [{"name": "part-00000.c000.json.gz"}]})
    api.add("GET", "/blob/demo/part-00000.c000.json.gz",
            Reply(body=blob, content_type="application/octet-stream"))


def _snapshots(api: FakeApi, month: Path) -> None:
    api.json("POST", "/auth/oauth/token", {"access_token": "d-tok"})
    for path, name in (("/datto/api/v2/account/sites", "datto-rmm-sites.json"),
                       ("/s1/web/api/v2.1/sites", "sentinelone-sites.json"),
                       ("/huntress/v1/organizations", "huntress-organizations.json")):
        api.add("GET", path, Reply(body=(month / name).read_bytes()))


def _findings(root: Path, out: Path) -> pd.DataFrame:
    assert main(["reconcile", "--workspace", str(root), "--period", str(PERIOD),
                 "--out", str(out)]) == 1  # the demo plants open findings
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def test_pulled_month_reconciles_like_the_hand_dropped_one(demo, fake_api, tmp_path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(Clock, "sleep", lambda self, seconds: None)
    month = demo / "inputs" / str(PERIOD)
    for script in (_cw, _pax8, _microsoft, _snapshots):
        script(fake_api, month)
    pulled = tmp_path / "pulled"
    (pulled / "inputs" / str(PERIOD)).mkdir(parents=True)
    shutil.copytree(demo / "mappings", pulled / "mappings")
    text = (demo / "recon.toml").read_text(encoding="utf-8")
    (pulled / "recon.toml").write_text(text + "\n" + config(fake_api.base), encoding="utf-8")
    shutil.copy(month / "acronis-usages.json", pulled / "inputs" / str(PERIOD))  # no API pulled
    for doc in [*month.glob("pc-subscri*.json"), *month.glob("graph-subscribedskus-*.json")]:
        shutil.copy(doc, pulled / "inputs" / str(PERIOD))  # licence documents: saved by hand
    sources = ["connectwise", "pax8", "microsoft", "datto_rmm", "sentinelone", "huntress"]
    assert main(["pull", "--workspace", str(pulled), "--period", str(PERIOD), "--no-progress",
                 *(a for s in sources for a in ("--source", s))]) == 0
    assert not fake_api.unanswered()
    capsys.readouterr()

    by_hand = _findings(demo, tmp_path / "by-hand.csv")
    via_api = _findings(pulled, tmp_path / "pulled.csv")
    assert len(by_hand) >= 10
    keep = [c for c in by_hand.columns if c != "sources"]
    pd.testing.assert_frame_equal(by_hand[keep].sort_values("key").reset_index(drop=True),
                                  via_api[keep].sort_values("key").reset_index(drop=True))
    # the same number of input rows behind every finding, now in the pulled files
    count = lambda f: f.set_index("key")["sources"].str.count(";")  # noqa: E731
    pd.testing.assert_series_equal(count(by_hand).sort_index(), count(via_api).sort_index())
    assert via_api["sources"].str.contains("microsoft-billed-recon-G020261077").any()
    assert via_api["sources"].str.contains("pax8-invoice-items-inv-2026-11-p2.json").any()
