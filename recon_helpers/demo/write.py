"""Write the demo workspace: the months of :mod:`recon_helpers.demo.plan` as real exports.

Example:
    >>> write_demo(Path("data"))
    {'periods': ['2026-08', '2026-09', '2026-10'], 'latest_period': '2026-10', ...}
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from pathlib import Path

from recon_helpers.core.errors import UsageError
from recon_helpers.demo import exports as w
from recon_helpers.demo.licences import latest_only, licence_files, plan_licences
from recon_helpers.demo.plan import PERIODS, PRODUCTS, build_months
from recon_helpers.demo.psas import PSAS, psa_product_id

WEIGHTED_TRUTH = "demo_ground_truth.day_weighted.csv"  # the planted findings under day_weighted


def _write_truth(path: Path, months: list[list[dict[str, str]]], psa: str
                 ) -> list[dict[str, str]]:
    truth = [
        {**t, "product_id": psa_product_id(psa, t["product_id"]) if t["product_id"] else ""}
        for rows in months
        for t in rows
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(truth[0]))
        writer.writeheader()
        writer.writerows(truth)
    return truth


def write_demo(
    root: Path, *, force: bool = False, psa: str = "connectwise"
) -> dict[str, object]:
    """Write the demo workspace under ``root`` (inputs, mappings, recon.toml, ground truth).

    Args:
        root: the workspace folder.
        force: replace a workspace already there.
        psa: whose exports the PSA side is (:data:`recon_helpers.demo.psas.PSAS`).

    Raises:
        UsageError: ``root`` already holds inputs and ``force`` is not set, or an unknown PSA.
    """
    if psa not in PSAS:
        raise UsageError(f"unknown PSA {psa!r}; the demo is written for {', '.join(PSAS)}")
    if (root / "inputs").exists():
        if not force:
            raise UsageError(f"{root} already holds a workspace; use --force to replace it")
        for sub in ("inputs", "mappings"):
            shutil.rmtree(root / sub, ignore_errors=True)
        for name in (
            "recon.toml",
            "demo_ground_truth.csv",
            WEIGHTED_TRUTH,
            "ledger.sqlite",
            "ledger.sqlite-wal",
            "ledger.sqlite-shm",
        ):
            (root / name).unlink(missing_ok=True)
    months = build_months(psa)
    clients = sorted(
        {ln.client.index: ln.client for m in months for ln in m.lines}.values(),
        key=lambda c: c.index,
    )
    terms: list[tuple[str, str, str]] = []
    for m in months:
        folder = root / "inputs" / m.period
        folder.mkdir(parents=True, exist_ok=True)
        w.write_month(folder, m, clients, PRODUCTS, psa)
        if latest_only(m.period):  # Microsoft subscriptions and assignments per tenant
            plan = plan_licences(m)
            for name, doc in licence_files(m, plan).items():
                w.dump_json(folder / name, doc)
            m.truth.extend(plan.truth)
            terms = plan.terms
    psa_products = {k: replace(p, product_id=psa_product_id(psa, k)) for k, p in PRODUCTS.items()}
    w.write_mappings(root / "mappings", clients, psa_products)
    w.write_config(root / "recon.toml", psa)
    w.write_licence_mappings(root / "mappings", terms, psa)
    truth = _write_truth(root / "demo_ground_truth.csv", [m.truth for m in months], psa)
    _write_truth(root / WEIGHTED_TRUTH, [m.truth + m.day_weighted_extra for m in months], psa)
    return {
        "periods": list(PERIODS),
        "latest_period": PERIODS[-1],
        "clients": len(clients),
        "planted_discrepancies": len(truth),
    }
