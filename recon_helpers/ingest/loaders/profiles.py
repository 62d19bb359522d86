"""Snapshot exports of seat/device vendors, declared as profiles: a few lines per vendor.

Vendor consoles that report "how many units each customer has right now" (devices per Datto
RMM site, licences per SentinelOne site, agents per Huntress organization, usage per Acronis
tenant) all share one shape: a JSON list of objects, one per customer (or customer x usage),
with an ID, a name and a count. A :class:`Profile` names those columns; :func:`to_format`
turns it into a registered :class:`SourceFormat` of entity ``delivered``.

Adding a vendor::

    Profile(vendor="acme_edr", name="acme_edr_tenants", container="tenants",
            customer_id="tenantId", customer_name="tenantName", sku=Const("endpoints"),
            quantity="endpointCount")

Keys (SPEC "Keys per format"): Datto RMM site ``uid``/``name``, SKU ``devices``; SentinelOne
site ``id``/``name``, SKU ``sku`` else ``suite``; Huntress ``id``/``name``, SKU ``agents``;
Acronis ``tenant_uuid`` (usages carry no tenant name), SKU ``usage_name``.

Limit: quantities are int64 fixed point with ``QTY_SCALE = 10**4``, so one value holds at
most about 9.2e14 units. Acronis reports storage in bytes: 9.2e14 bytes is about 838 TiB per
usage line; a larger value is quarantined as ``bad_number``, never wrapped or rounded. Sums of
byte quantities over many tenants meet the same ceiling sooner, so map storage SKUs with a
``units_per_product`` (e.g. bytes per GB) before adding them up.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from recon_helpers.core.schemas import Kind, QuarantineReason
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.loaders.canonical import with_currency
from recon_helpers.ingest.parsing import DateFormat
from recon_helpers.ingest.raw import FileKind, RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions, convert, quarantine_rows

Columns = str | tuple[str, ...]  # a column name, or aliases tried in order (case-insensitive)


@dataclass(frozen=True)
class Const:
    """A value that is the same on every row (the SKU of a device-count export)."""

    value: str


@dataclass(frozen=True)
class Profile:
    """One snapshot export: where its records sit and which columns mean what.

    Attributes:
        vendor: vendor key written to ``delivered.vendor`` (SPEC "Keys per format").
        name: format name (fixture ``tests/fixtures/formats/<name>.json``, recon.toml).
        container: JSON envelope key holding the records (dotted: ``data.sites``).
        customer_id: column of the vendor's customer key (required on every row).
        customer_name: column of the customer's display name, or None.
        quantity: column of the count (JSON nested keys are dotted: ``a.b``).
        sku: column holding the vendor SKU, or a :class:`Const`.
        sku_fallback: column used where ``sku`` is empty (SentinelOne ``suite``).
        sku_name: column or constant describing the SKU, or None.
        client_link: column holding a PSA client_id the vendor already knows, or None.
        charge_start: column of the date the usage is counted from, or None.
        unit_cost: column of the vendor's unit cost, or None.
        currency: column of the cost currency (else the file's/workspace's currency).
        signature: more columns that must be present to recognise the file.
        excludes: columns whose presence rules the profile out.
        record_id: a column identifying a record (repeats with other values are conflicts).
        date_format: format of ``charge_start``.
        kinds: file kinds the export arrives as.
        description: one line for format listings.
    """

    vendor: str
    name: str
    container: str
    customer_id: Columns
    quantity: Columns
    sku: Columns | Const
    customer_name: Columns | None = None
    sku_fallback: Columns | None = None
    sku_name: Columns | Const | None = None
    client_link: Columns | None = None
    charge_start: Columns | None = None
    unit_cost: Columns | None = None
    currency: Columns | None = None
    signature: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    record_id: str | None = None
    date_format: DateFormat = "iso"
    kinds: frozenset[FileKind] = frozenset({"json"})
    description: str = ""


def _aliases(cols: Columns) -> tuple[str, ...]:
    return (cols,) if isinstance(cols, str) else tuple(cols)


def _field(target: str, cols: Columns | Const | None, kind: Kind, required: bool = False) -> Field:
    if cols is None:
        return Field(target, (), kind)
    if isinstance(cols, Const):
        return Field(target, (), kind, default=cols.value)
    return Field(target, _aliases(cols), kind, required)


def fields_of(profile: Profile) -> tuple[Field, ...]:
    """The validation Fields a profile implies (targets are DELIVERED columns).

    ``vendor_sku`` is only required when it has no fallback: the fallback is applied after
    conversion, and rows empty in both are quarantined then.
    """
    return (
        Field("vendor", (), "id", default=profile.vendor),
        _field("vendor_customer_id", profile.customer_id, "id", required=True),
        _field("vendor_customer_name", profile.customer_name, "text"),
        _field("vendor_sku", profile.sku, "id", required=profile.sku_fallback is None),
        _field("sku_fallback", profile.sku_fallback, "id"),
        _field("sku_name", profile.sku_name, "text"),
        _field("quantity", profile.quantity, "quantity", required=True),
        _field("unit_cost", profile.unit_cost, "money"),
        _field("currency", profile.currency, "id"),
        Field(
            "charge_start",
            _aliases(profile.charge_start) if profile.charge_start else (),
            "date",
            date_format=profile.date_format,
        ),
        _field("client_link", profile.client_link, "id"),
    )


def _signature(profile: Profile) -> frozenset[str]:
    # the first alias of each required column, plus the declared extras; a SKU column with a
    # fallback may be absent (SentinelOne site lists carry ``suite`` but not always ``sku``)
    needed = [_aliases(profile.customer_id)[0], _aliases(profile.quantity)[0]]
    if not isinstance(profile.sku, Const) and profile.sku_fallback is None:
        needed.append(_aliases(profile.sku)[0])
    return frozenset(needed) | frozenset(profile.signature)


def parse_profile(profile: Profile, raw: RawTable, options: LoadOptions) -> Converted:
    """Convert a snapshot export's rows into DELIVERED rows (with quarantine)."""
    out = convert(raw, fields_of(profile), options)
    frame = out.frame
    frame["vendor_sku"] = frame["vendor_sku"].where(
        frame["vendor_sku"].ne(""), frame["sku_fallback"]
    )
    frame = frame.drop(columns="sku_fallback")
    sku_column = "vendor_sku" if isinstance(profile.sku, Const) else _aliases(profile.sku)[0]
    frame, q = quarantine_rows(
        frame,
        frame["vendor_sku"].eq(""),
        QuarantineReason.MISSING_VALUE,
        f"{sku_column} is empty"
        + (f" and so is {_aliases(profile.sku_fallback)[0]}" if profile.sku_fallback else ""),
        "vendor_sku",
    )
    quarantine = pd.concat([out.quarantine, q], ignore_index=True) if len(q) else out.quarantine
    return Converted(with_currency(frame, options), quarantine)


def to_format(profile: Profile) -> SourceFormat:
    """The registered SourceFormat (entity ``delivered``) a profile describes."""

    def parse(raw: RawTable, options: LoadOptions) -> Converted:
        return parse_profile(profile, raw, options)

    return SourceFormat(
        name=profile.name,
        entity="delivered",
        signature=_signature(profile),
        parse=parse,
        kinds=profile.kinds,
        container=profile.container,
        excludes=frozenset(profile.excludes),
        record_id=profile.record_id,
        description=profile.description,
    )


PROFILES: tuple[Profile, ...] = (
    # GET /v2/account/sites -> {"pageDetails": {...}, "sites": [...]}
    Profile(
        vendor="datto_rmm",
        name="datto_rmm_sites",
        container="sites",
        customer_id="uid",
        customer_name="name",
        sku=Const("devices"),
        sku_name=Const("Datto RMM managed devices"),
        quantity="devicesStatus.numberOfDevices",
        client_link="autotaskCompanyId",
        signature=("name", "accountUid"),
        record_id="uid",
        description="Datto RMM sites (devices per site; autotaskCompanyId links the client)",
    ),
    # GET /web/api/v2.1/sites -> {"data": {"allSites": {...}, "sites": [...]}, "pagination": {...}}
    Profile(
        vendor="sentinelone",
        name="sentinelone_sites",
        container="data.sites",
        customer_id="id",
        customer_name="name",
        sku="sku",
        sku_fallback="suite",
        quantity="activeLicenses",
        signature=("name", "accountId", "suite"),
        record_id="id",
        description="SentinelOne sites (active licences per site)",
    ),
    # GET /v1/organizations -> {"organizations": [...], "pagination": {...}}
    Profile(
        vendor="huntress",
        name="huntress_organizations",
        container="organizations",
        customer_id="id",
        customer_name="name",
        sku=Const("agents"),
        sku_name=Const("Huntress EDR agents"),
        quantity="agents_count",
        signature=("name", "key"),
        record_id="id",
        description="Huntress organizations (agents per organization)",
    ),
    # GET /api/2/tenants/usages?tenants=... -> {"items": [...]}; one row per tenant x usage
    # x edition, so tenant_uuid is no record ID. Autotask also answers {"items": [...]}; its
    # camelCase fields never carry tenant_uuid/usage_name.
    Profile(
        vendor="acronis",
        name="acronis_usages",
        container="items",
        customer_id="tenant_uuid",
        customer_name=("tenant_name", "tenant.name"),
        sku="usage_name",
        sku_name="name",
        quantity="value",
        charge_start="range_start",
        signature=("measurement_unit",),
        excludes=("companyID", "contractID"),
        description="Acronis Cyber Protect Cloud tenant usages (value per usage; storage in bytes)",
    ),
)

FORMATS: tuple[SourceFormat, ...] = tuple(to_format(p) for p in PROFILES)
