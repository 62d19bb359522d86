"""Client and product mapping: normalisation, mapping files, suggestions, confirmation."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from recon_helpers.audit.mapping_changes import write_client_mapping, write_product_mapping
from recon_helpers.core.errors import ConfigError
from recon_helpers.core.period import Period
from recon_helpers.reconcile.mapping import known_clients, read_client_map, read_product_map
from recon_helpers.reconcile.names import normalise_name
from recon_helpers.reconcile.suggestions import suggest
from tests.workspace_builder import d, kinds, p, run


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Acme Manufacturing, Inc.", "acme manufacturing"),
        ("Baker & Sons Ltd.", "baker and sons"),
        ("MÜLLER PRÄZISIONSTECHNIK GmbH", "muller prazisionstechnik"),
        ("Koala Pty Ltd", "koala"),
        ("Limited", "limited"),  # a name that is only a suffix keeps it
        ("O'Brien Plumbing LLC", "obrien plumbing"),
    ],
)
def test_normalise_name(raw, norm):
    assert normalise_name(raw) == norm


def test_read_client_map_errors_name_file_and_row(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("vendor,vendor_customer_id,vendor_customer_name,client_id\nhuntress,,,C1\n")
    with pytest.raises(ConfigError, match=r"clients\.csv:1"):
        read_client_map(path)
    path.write_text("vendor,customer,client_id\n")
    with pytest.raises(ConfigError, match="header lacks"):
        read_client_map(path)


def test_read_product_map_units_and_errors(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text(
        "vendor,vendor_sku,product_id,units_per_product\nAcronis,Storage,BKP,1024\n"
        "huntress,agents,EDR,\n"
    )
    pm = read_product_map(path)
    assert list(pm.units_per_product) == [Decimal(1024), Decimal(1)]
    assert list(pm.vendor) == ["acronis", "huntress"]
    path.write_text("vendor,vendor_sku,product_id,units_per_product\nx,y,z,0\n")
    with pytest.raises(ConfigError, match=r"products\.csv:1: units_per_product"):
        read_product_map(path)


def test_confirm_client_appends_and_keeps_every_other_byte(tmp_path):
    path = tmp_path / "clients.csv"
    original = b'vendor,vendor_customer_id,vendor_customer_name,client_id\r\nhuntress,7,"A, B",C1'
    path.write_bytes(original)
    write_client_mapping(path, "Microsoft", "guid-1", 'Name "quoted", Inc', "C2")
    data = path.read_bytes()
    assert data.startswith(original + b"\n")
    cmap = read_client_map(path)
    assert cmap.iloc[1][
        ["vendor", "vendor_customer_id", "vendor_customer_name", "client_id"]
    ].tolist() == ["microsoft", "guid-1", 'Name "quoted", Inc', "C2"]
    assert not list(tmp_path.glob(".clients.csv.*"))  # no temporary file left behind


def test_confirm_client_creates_file_with_header(tmp_path):
    path = tmp_path / "mappings" / "clients.csv"
    write_client_mapping(path, "pax8", "", "Zeta Holdings", "Z1")
    assert read_client_map(path).client_id.tolist() == ["Z1"]
    with pytest.raises(ConfigError):
        write_client_mapping(path, "pax8", "", "", "Z1")
    write_product_mapping(tmp_path / "products.csv", "acronis", "storage", "BKP", "1024")
    with pytest.raises(ConfigError):
        write_product_mapping(tmp_path / "products.csv", "acronis", "storage", "BKP", "-1")


def test_suggest_ranks_close_names_and_ignores_weak_ones():
    clients = known_clients(
        pd.DataFrame(
            {
                "client_id": ["N1", "N2", "Q"],
                "client_name": ["Northwind Trading", "Northwind Traders Pty", "Quartz"],
            }
        )
    )
    choices = clients.rename(columns={"client_id": "choice_id", "client_name": "choice_name"})
    ranked = suggest(
        pd.Series(["Northwind Traders", "Zzz Unrelated"]), choices, limit=2, min_score=60
    )
    assert ranked["query"].tolist() == ["Northwind Traders", "Northwind Traders"]
    assert ranked["choice_id"].tolist() == ["N2", "N1"]
    assert ranked["score"].is_monotonic_decreasing and ranked["score"].iloc[0] == 100


def test_confirmed_suggestion_removes_the_unmapped_finding(tmp_path):
    rows = {
        "delivered": [d("t-9", "agents", "3", "2", name="Acmee Inc")],
        "promised": [p("acme", "EDR", "3", "5")],
    }
    rec = run(tmp_path, **rows)
    assert [k[0] for k in kinds(rec)] == ["billed_not_delivered", "unmapped_customer"]
    top = rec.client_suggestions.iloc[0]
    assert (top.client_id, top["rank"]) == ("acme", 1)
    write_client_mapping(
        tmp_path / "mappings" / "clients.csv",
        top.vendor,
        top.vendor_customer_id,
        top.vendor_customer_name,
        top.client_id,
    )
    from recon_helpers.core.workspace import Workspace
    from recon_helpers.reconcile.run import reconcile_period

    assert kinds(reconcile_period(Workspace.open(tmp_path), Period.parse("2026-10"))) == []
