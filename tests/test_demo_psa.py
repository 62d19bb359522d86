"""``recon demo --psa``: the same book and planted findings in each PSA's exports, named by that
PSA's ids, reconciled to its ground truth exactly (Autotask and HaloPSA now three-way)."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from recon_helpers.cli import main
from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import FINDING_KINDS
from recon_helpers.core.workspace import Workspace
from recon_helpers.demo.plan import PERIODS, PRODUCTS, build_months
from recon_helpers.demo.psas import psa_client_id, psa_product_id
from recon_helpers.demo.write import write_demo
from recon_helpers.reconcile.run import reconcile_period

OTHER_PSAS = ("autotask", "halopsa")
PSA_FILES = {
    "connectwise": {"cw-companies.json", "cw-agreements.json", "cw-agreement-additions.json",
                    "cw-catalog.json", "cw-invoices.json", "cw-invoice-products.json"},
    "autotask": {"at-companies.json", "at-services.json", "at-contracts.json",
                 "at-contract-services.json", "at-contract-service-units.json",
                 "at-invoices.json", "at-billing-items.json"},
    "halopsa": {"halo-clients.json", "halo-items.json", "halo-recurring-invoices.json",
                "halo-invoices.json"},
}


@pytest.fixture(scope="module", params=OTHER_PSAS)
def psa_demo(request, tmp_path_factory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp(request.param) / "data"
    write_demo(root, psa=request.param)
    return request.param, root


def _truth(root: Path, period: str | None = None) -> list[dict[str, str]]:
    with (root / "demo_ground_truth.csv").open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if period in (None, r["period"])]


def _digest(root: Path) -> str:
    """What write_demo writes (a ledger a reconciliation may add is not part of it)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith("ledger.sqlite") and ".recon-cache" not in p.parts:
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("period", PERIODS)
def test_reconcile_reproduces_the_psa_ground_truth_exactly(psa_demo, period) -> None:
    _, root = psa_demo
    rec = reconcile_period(Workspace.open(root), Period.parse(period))
    f = rec.findings
    got = {
        (k, c, p, "" if i is None else format(i, "f"), cur)
        for k, c, p, i, cur in zip(f.kind, f.client_id, f.product_id, f.impact, f.currency,
                                   strict=True)
    }
    assert len(got) == len(f)
    expected = {(t["kind"], t["client_id"], t["product_id"], t["impact"], t["currency"])
                for t in _truth(root, period)}
    assert got == expected
    inv = rec.loaded.inventory
    assert (inv.rows_read == inv.rows_used + inv.rows_quarantined).all()
    assert inv.rows_quarantined.sum() >= 4  # the planted mess is caught, not dropped


def test_every_kind_is_planted_and_the_month_is_three_way(psa_demo) -> None:
    psa, root = psa_demo
    assert {t["kind"] for t in _truth(root, PERIODS[-1])} == set(FINDING_KINDS)
    rec = reconcile_period(Workspace.open(root), Period.parse(PERIODS[-1]))
    assert not rec.loaded.billed.empty
    invoice_checks = rec.findings[rec.findings.kind.isin(["invoice_mismatch", "price_mismatch"])]
    assert len(invoice_checks) >= 3 and invoice_checks.invoiced_qty.notna().all()
    files = set(rec.loaded.inventory.file)
    assert PSA_FILES[psa] <= files and not (files & (PSA_FILES["connectwise"] - PSA_FILES[psa]))


def test_the_planted_findings_are_connectwise_s_renamed(psa_demo, demo) -> None:
    psa, root = psa_demo
    ids = {psa_client_id(psa, c.index, c.identifier): c.identifier
           for c in _clients("connectwise")}
    products = {psa_product_id(psa, pid): pid for pid in PRODUCTS}
    renamed = [
        dict(t, client_id=ids.get(t["client_id"], t["client_id"]),
             product_id=products.get(t["product_id"], t["product_id"]))
        for t in _truth(root)
    ]
    assert renamed == _truth(demo)  # the session's ConnectWise demo
    assert all(t["client_id"].isdigit() for t in _truth(root) if t["client_id"])


def test_psa_ids_reach_the_mappings_and_settings(psa_demo) -> None:
    psa, root = psa_demo
    clients_csv = (root / "mappings" / "clients.csv").read_text(encoding="utf-8")
    products_csv = (root / "mappings" / "products.csv").read_text(encoding="utf-8")
    first = _clients(psa)[0]
    assert f",{psa_client_id(psa, first.index, first.identifier)}\n" in clients_csv
    assert f",{psa_product_id(psa, 'BKP-TB')},1000000000000\n" in products_csv
    settings = Workspace.open(root).settings()
    assert settings.tolerance_for(psa_product_id(psa, "BKP-TB")).quantity_abs == Decimal("0.05")
    assert settings.timezone == ("America/New_York" if psa == "autotask" else None)


def test_vendor_exports_are_the_same_for_every_psa(psa_demo, demo) -> None:
    _, root = psa_demo
    for name in ("G020261077_NCE_recon.csv", "acronis-usages.json", "sentinelone-sites.json"):
        assert (root / "inputs" / "2026-10" / name).read_bytes() == (
            demo / "inputs" / "2026-10" / name).read_bytes()


def test_psa_demo_is_deterministic(psa_demo, tmp_path) -> None:
    psa, root = psa_demo
    again = tmp_path / "data"
    write_demo(again, psa=psa)
    assert _digest(again) == _digest(root)


def test_connectwise_is_the_default(demo, tmp_path) -> None:
    write_demo(tmp_path / "data", psa="connectwise")
    assert _digest(tmp_path / "data") == _digest(demo)


def test_cli_psa_option(tmp_path, capsys) -> None:
    assert main(["demo", "--workspace", str(tmp_path / "data"), "--psa", "halopsa"]) == 0
    assert (tmp_path / "data" / "inputs" / "2026-10" / "halo-invoices.json").is_file()
    assert main(["demo", "--workspace", str(tmp_path / "x"), "--psa", "syncro"]) == 2
    assert "invalid choice: 'syncro'" in capsys.readouterr().err


def test_unknown_psa_is_refused(tmp_path) -> None:
    with pytest.raises(UsageError, match="unknown PSA 'kaseya'"):
        write_demo(tmp_path / "data", psa="kaseya")


def _clients(psa: str) -> list:
    months = build_months(psa)
    return sorted({ln.client.index: ln.client for m in months for ln in m.lines}.values(),
                  key=lambda c: c.index)
