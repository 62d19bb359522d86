"""Vendor exports declared in the workspace (mappings/profiles/*.toml): loading and validation."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from recon_helpers.core.errors import ConfigError, InputFileError, UnknownFormatError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod, load_period
from recon_helpers.ingest.loaders.profile_toml import parse_profile_text
from recon_helpers.ingest.loaders.profiles import PROFILES
from recon_helpers.ingest.registry import FORMATS, formats_for

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
PERIOD = Period.parse("2026-10")

# the README's worked example, verbatim in spirit: NinjaOne GET /v2/devices, one record per device
NINJAONE = """\
# NinjaOne devices: GET /v2/devices -> a bare JSON array, one object per device
name = "ninjaone_devices"
vendor = "ninjaone"
description = "NinjaOne devices (one row per device, SKU = device class)"

[detect]
kinds = ["json"]
container = ""
columns = ["nodeClass", "systemName"]
record_id = "id"

[fields]
customer_id = "organizationId"
sku = "nodeClass"
quantity = { value = "1" }
"""


def _device(device_id: int, org: int, node_class: str, name: str, offline: bool) -> dict:
    """One device as GET /v2/devices lists it (FORMATS.md of the project: NinjaOne)."""
    return {"id": device_id, "parentDeviceId": None, "organizationId": org, "locationId": org * 10,
            "nodeClass": node_class, "approvalStatus": "APPROVED", "offline": offline,
            "displayName": name, "systemName": name, "dnsName": None,
            "created": 1727790000.0, "lastContact": 1730390000.5}


DEVICES = [
    _device(101, 7, "WINDOWS_WORKSTATION", "FRONTDESK-01", False),
    _device(102, 7, "WINDOWS_WORKSTATION", "XRAY-PC", True),
    _device(103, 9, "WINDOWS_SERVER", "FAB-DC01", False),
]
# an illustrative CSV export: storage in MiB billed per GiB, prices in cents, exclusive ends
STORAGE = """\
name = "acme_backup_storage"
vendor = "acme_backup"
date_format = "mdy"

[detect]
kinds = ["csv"]
columns = ["Plan"]

[fields]
customer_id = "Tenant ID"
customer_name = { column = ["Tenant Name", "Tenant"], optional = true }
sku = "Plan"
quantity = { column = "Used MiB", divide_by = 1024 }
unit_cost = { column = "Price (cents)", divide_by = 100 }
currency = { value = "EUR" }
charge_start = "From"
charge_end = { column = "To", inclusive = false }
"""
STORAGE_CSV = """\
Tenant ID,Tenant Name,Plan,Used MiB,Price (cents),From,To
T-1,Contoso Dental,backup-std,1536,250,10/1/2026,11/1/2026
T-2,Fabrikam,backup-std,100,250,10/1/2026,11/1/2026
"""


def _workspace(root: Path, profiles: dict[str, str], inputs: dict[str, str]) -> Workspace:
    folder = root / "data" / "inputs" / str(PERIOD)
    folder.mkdir(parents=True)
    (root / "data" / "mappings" / "profiles").mkdir(parents=True)
    for name, text in profiles.items():
        (root / "data" / "mappings" / "profiles" / name).write_text(text, encoding="utf-8")
    for name, text in inputs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Workspace.open(root / "data")


def _load(root: Path, profiles: dict[str, str], inputs: dict[str, str]) -> LoadedPeriod:
    return load_period(_workspace(root, profiles, inputs), PERIOD)


def _error(text: str, label: str = "mappings/profiles/p.toml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_profile_text(text, label)
    return str(info.value)


# ----------------------------------------------------------------------------- loading


def test_worked_example_loads_as_a_format_of_its_own(tmp_path: Path) -> None:
    loaded = _load(tmp_path, {"ninjaone.toml": NINJAONE}, {"devices.json": json.dumps(DEVICES)})
    inv = loaded.inventory.iloc[0]
    assert (inv["format"], inv["entity"], inv["rows_read"], inv["rows_used"]) == (
        "ninjaone_devices", "delivered", 3, 3)
    d = loaded.delivered
    assert set(d["vendor"]) == {"ninjaone"}
    assert d[["vendor_customer_id", "vendor_sku", "quantity"]].values.tolist() == [
        ["7", "WINDOWS_WORKSTATION", QTY_SCALE], ["7", "WINDOWS_WORKSTATION", QTY_SCALE],
        ["9", "WINDOWS_SERVER", QTY_SCALE]]
    assert d["source"].tolist() == ["devices.json:1", "devices.json:2", "devices.json:3"]


def test_readme_worked_example_loads_as_documented(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(# mappings/profiles/ninjaone\.toml\n.*?)```", readme, re.S)
    assert block, "README lost its NinjaOne profile example"
    loaded = _load(tmp_path, {"ninjaone.toml": block[1]}, {"devices.json": json.dumps(DEVICES)})
    assert loaded.inventory.iloc[0]["format"] == "ninjaone_devices"
    assert loaded.delivered["quantity"].sum() == 3 * QTY_SCALE


def test_csv_profile_converts_units_and_cents_exactly(tmp_path: Path) -> None:
    loaded = _load(tmp_path, {"storage.toml": STORAGE}, {"usage.csv": STORAGE_CSV})
    d = loaded.delivered.set_index("vendor_customer_id")
    assert d.loc["T-1", "quantity"] == int(1.5 * QTY_SCALE)  # 1536 MiB = 1.5 GiB
    assert d.loc["T-2", "quantity"] == 977  # 100/1024 GiB = 0.09765625, half up at 4 decimals
    assert d.loc["T-1", "unit_cost"] == 2 * MONEY_SCALE + MONEY_SCALE // 2  # 250 cents
    assert d.loc["T-1", "currency"] == "EUR"
    assert str(d.loc["T-1", "charge_end"].date()) == "2026-10-31"  # 11/1 is exclusive
    assert d.loc["T-2", "vendor_customer_name"] == "Fabrikam"


def test_profile_can_be_named_in_recon_toml(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, {"ninjaone.toml": NINJAONE}, {"devices.json": json.dumps(DEVICES)})
    (ws.config_path).write_text('[files."devices.json"]\nformat = "ninjaone_devices"\n')
    assert load_period(ws, PERIOD).inventory.iloc[0]["format"] == "ninjaone_devices"


def test_edited_profile_is_read_again(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, {"ninjaone.toml": NINJAONE}, {"devices.json": json.dumps(DEVICES)})
    assert set(load_period(ws, PERIOD).delivered["vendor"]) == {"ninjaone"}
    path = ws.mappings / "profiles" / "ninjaone.toml"
    path.write_text(NINJAONE.replace('vendor = "ninjaone"', 'vendor = "ninja"'))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert set(load_period(ws, PERIOD).delivered["vendor"]) == {"ninja"}


def test_workspace_without_profiles_keeps_the_builtin_registry(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert formats_for(Workspace.open(tmp_path / "data")) is FORMATS


def test_shipped_profiles_are_toml_files_read_by_the_same_code() -> None:
    assert {p.declared_in.rsplit("/", 1)[-1] for p in PROFILES} == {
        "acronis_usages.toml", "datto_rmm_sites.toml", "huntress_organizations.toml",
        "sentinelone_sites.toml"}
    datto = next(p for p in PROFILES if p.name == "datto_rmm_sites")
    assert re.fullmatch(r"recon_helpers/ingest/loaders/vendor_profiles/datto_rmm_sites\.toml:\d+",
                        datto.where("fields.quantity"))


def test_a_column_the_profile_names_must_be_in_the_file(tmp_path: Path) -> None:
    typo = NINJAONE.replace('[fields]\n', '[fields]\ncustomer_name = "organisationName"\n')
    with pytest.raises(InputFileError) as info:
        _load(tmp_path, {"ninjaone.toml": typo}, {"devices.json": json.dumps(DEVICES)})
    message = str(info.value)
    assert message.startswith("devices.json:0: has no column 'organisationName'")
    assert "mappings/profiles/ninjaone.toml:13 names for `customer_name`" in message
    assert "optional = true" in message


def test_an_optional_column_may_be_absent(tmp_path: Path) -> None:
    csv = STORAGE_CSV.replace("Tenant Name,", "").replace("Contoso Dental,", "").replace(
        "Fabrikam,", "")
    loaded = _load(tmp_path, {"storage.toml": STORAGE}, {"usage.csv": csv})
    assert set(loaded.delivered["vendor_customer_name"]) == {""}


def test_quantity_past_the_fixed_point_range_is_quarantined(tmp_path: Path) -> None:
    huge = STORAGE.replace("divide_by = 1024", "multiply_by = 1000000000000")
    loaded = _load(tmp_path, {"storage.toml": huge}, {"usage.csv": STORAGE_CSV})
    q = loaded.quarantine
    assert q[["row", "reason", "column"]].values.tolist() == [[1, "bad_number", "quantity"]]


# ----------------------------------------------------------------------------- overlapping claims


def test_two_profiles_that_can_claim_one_file_are_an_error(tmp_path: Path) -> None:
    other = NINJAONE.replace('name = "ninjaone_devices"', 'name = "ninja_copy"')
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, {"a.toml": NINJAONE, "b.toml": other}, {})
    message = str(info.value)
    assert "mappings/profiles/b.toml:6" in message and "mappings/profiles/a.toml:6" in message
    assert "excludes" in message


def test_excludes_tell_two_profiles_apart(tmp_path: Path) -> None:
    servers = (NINJAONE.replace('name = "ninjaone_devices"', 'name = "ninja_servers"')
               .replace('columns = ["nodeClass", "systemName"]',
                        'columns = ["nodeClass", "systemName", "serverRole"]'))
    workstations = NINJAONE.replace('record_id = "id"',
                                    'record_id = "id"\nexcludes = ["serverRole"]')
    loaded = _load(tmp_path, {"a.toml": workstations, "b.toml": servers},
                   {"devices.json": json.dumps(DEVICES)})
    assert loaded.inventory.iloc[0]["format"] == "ninjaone_devices"


def test_profile_overlapping_a_shipped_profile_is_an_error(tmp_path: Path) -> None:
    rmm = NINJAONE.replace('container = ""', 'container = "sites"').replace(
        'columns = ["nodeClass", "systemName"]', "columns = []").replace(
        'customer_id = "organizationId"', 'customer_id = "uid"').replace(
        'sku = "nodeClass"', 'sku = { value = "devices" }')
    with pytest.raises(ConfigError, match=r"datto_rmm_sites\.toml:\d+"):
        _load(tmp_path, {"rmm.toml": rmm}, {})


@pytest.mark.parametrize("name", ["datto_rmm_sites", "pax8_companies"])
def test_profile_may_not_reuse_a_format_name(tmp_path: Path, name: str) -> None:
    clash = NINJAONE.replace('name = "ninjaone_devices"', f'name = "{name}"')
    with pytest.raises(ConfigError, match=r"p\.toml:2: `name`"):
        _load(tmp_path, {"p.toml": clash}, {})


def test_profile_and_builtin_format_fitting_one_file_is_an_error(tmp_path: Path) -> None:
    # a profile for a "companies" list that a ConnectWise companies export also fits
    companies = (FIXTURES / "connectwise_companies.json").read_text()
    profile = NINJAONE.replace('columns = ["nodeClass", "systemName"]', 'columns = ["name"]') \
        .replace('customer_id = "organizationId"', 'customer_id = "id"') \
        .replace('sku = "nodeClass"', 'sku = { value = "seats" }')
    with pytest.raises(UnknownFormatError) as info:
        _load(tmp_path, {"p.toml": profile}, {"companies.json": companies})
    message = str(info.value)
    assert re.search(r"ninjaone_devices \(\S*mappings/profiles/p\.toml:2\)", message)
    assert "connectwise_companies (built in)" in message


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("edit", "where", "problem"),
    [
        (('vendor = "ninjaone"', 'vendor = "ninjaone"\nvendr = "x"'), ":4: `vendr`", "unknown key"),
        (("[fields]\n", "[fields]\nseats = \"x\"\n"), ":13: `fields.seats`", "unknown key"),
        (('quantity = { value = "1" }', 'quantity = { value = "1", scale = 2 }'),
         ":15: `fields.quantity.scale`", "unknown key"),
        (('sku = "nodeClass"\n', ""), ":12: `fields.sku`", "is required"),
        (('name = "ninjaone_devices"\n', ""), ":1: `name`", "is required"),
        (('kinds = ["json"]', 'kinds = ["parquet"]'), ":7: `detect.kinds`", "must be a list of"),
        (('container = ""\n', ""), ":6: `detect.container`", "is required for JSON"),
        (('record_id = "id"', 'record_id = "id"\nexcludes = ["nodeClass"]'),
         ":11: `detect.excludes`", "needs to recognise"),
        (('customer_id = "organizationId"', 'customer_id = { value = "7" }'),
         ":13: `fields.customer_id.value`", "does not take value"),
        (('customer_id = "organizationId"',
          'customer_id = { column = "organizationId", optional = true }'),
         ":13: `fields.customer_id.optional`", "cannot be optional"),
        (('quantity = { value = "1" }', 'quantity = { column = "n", divide_by = "kilo" }'),
         ":15: `fields.quantity.divide_by`", "is not a number"),
        (('quantity = { value = "1" }', 'quantity = { column = "n", divide_by = 0 }'),
         ":15: `fields.quantity.divide_by`", "must be positive"),
        (('sku = "nodeClass"', 'sku = { column = "nodeClass", divide_by = 2 }'),
         ":14: `fields.sku.divide_by`", "does not take divide_by"),
        (('quantity = { value = "1" }', 'quantity = { value = "one" }'),
         ":15: `fields.quantity.value`", "is not a number"),
        (('quantity = { value = "1" }', "quantity = 5"), ":15: `fields.quantity`",
         "column name or a list"),
        (('vendor = "ninjaone"', 'vendor = "ninjaone"\ndate_format = "yyyy-mm-dd"'),
         ":4: `date_format`", "is not one of iso, iso_local_midnight, mdy, dmy, epoch_ms"),
        (('name = "ninjaone_devices"', 'name = "NinjaOne Devices"'), ":2: `name`",
         "lower case letters"),
    ],
)
def test_invalid_profile_names_file_line_and_key(edit: tuple[str, str], where: str,
                                                 problem: str) -> None:
    old, new = edit
    assert old in NINJAONE
    message = _error(NINJAONE.replace(old, new, 1))
    assert message.startswith("mappings/profiles/p.toml" + where), message
    assert problem in message


def test_invalid_toml_is_a_config_error_with_its_position() -> None:
    message = _error('name = "x\nvendor = "y"\n')
    assert message.startswith("mappings/profiles/p.toml: not valid TOML")
    assert "line 1" in message


def test_tables_must_be_tables() -> None:
    message = _error('name = "a"\nvendor = "b"\ndetect = 3\n[fields]\ncustomer_id = "id"\n')
    assert message.startswith("mappings/profiles/p.toml:3: `detect`: must be a table")


def test_sku_may_be_optional_only_with_a_fallback() -> None:
    message = _error(NINJAONE.replace('sku = "nodeClass"',
                                      'sku = { column = "nodeClass", optional = true }'))
    assert "`fields.sku.optional`" in message and "sku_fallback" in message
