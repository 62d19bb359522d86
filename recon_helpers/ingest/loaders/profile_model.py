"""What a vendor profile declares: where an export's records sit and which columns mean what.

A :class:`Profile` is read from a TOML file (the shipped ones in ``loaders/vendor_profiles/``,
a workspace's own in ``mappings/profiles/``; see :mod:`recon_helpers.ingest.loaders.profile_toml`)
or built in Python; :func:`recon_helpers.ingest.loaders.profiles.to_format` turns it into a
registered format of entity ``delivered``.

Example:
    Profile(vendor="acme_edr", name="acme_edr_tenants", container="tenants",
            customer_id="tenantId", customer_name="tenantName", sku=Const("endpoints"),
            quantity="endpointCount")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from recon_helpers.ingest.parsing import DateFormat
from recon_helpers.ingest.raw import FileKind

Columns = str | tuple[str, ...]  # a column name, or aliases tried in order (case-insensitive)


@dataclass(frozen=True)
class Const:
    """A value that is the same on every row (the SKU of a device-count export)."""

    value: str


@dataclass(frozen=True)
class Profile:
    """One vendor export: where its records sit and which columns mean what.

    Attributes:
        vendor: vendor key written to ``delivered.vendor`` (SPEC "Keys per format").
        name: format name (fixture ``tests/fixtures/formats/<name>.json``, recon.toml).
        container: JSON envelope key holding the records (dotted: ``data.sites``; ``""``: a
            bare array); None for profiles that read only CSV/XLSX.
        customer_id: column of the vendor's customer key (required on every row).
        customer_name: column of the customer's display name, or None.
        quantity: column of the count (JSON nested keys are dotted: ``a.b``), or a
            :class:`Const` (``Const("1")``: every row is one unit, e.g. one device).
        sku: column holding the vendor SKU, or a :class:`Const`.
        sku_fallback: column used where ``sku`` is empty (SentinelOne ``suite``).
        sku_name: column or constant describing the SKU, or None.
        client_link: column holding a PSA client_id the vendor already knows, or None.
        charge_start: column of the date the usage is counted from, or None.
        charge_end: column of the last day the usage counts for, or None.
        charge_end_inclusive: False when ``charge_end`` is the day after the period (it is
            then moved back one day: canonical ends are inclusive).
        charge_type: column or constant written to ``charge_type``, or None.
        unit_cost: column of the vendor's unit cost, or None.
        currency: column (or constant) of the cost currency (else the file's/workspace's).
        quantity_factor: exact factor applied to the quantity (1/1024: KiB reported, MiB
            billed); the result rounds half away from zero to 4 decimals.
        unit_cost_factor: exact factor applied to the unit cost (1/100: cents); the result
            rounds half away from zero to 6 decimals.
        optional: field names whose columns may be absent from a file; any other named column
            missing from a file detected as this profile is an error naming the profile.
        signature: more columns that must be present to recognise the file.
        excludes: columns whose presence rules the profile out.
        record_id: a column identifying a record (repeats with other values are conflicts).
        date_format: format of the date columns.
        kinds: file kinds the export arrives as.
        description: one line for format listings.
        declared_in: the profile file (for messages); empty for profiles built in Python.
        lines: line of each key in that file (``"fields.quantity"`` -> 12), for messages.
    """

    vendor: str
    name: str
    container: str | None
    customer_id: Columns
    quantity: Columns | Const
    sku: Columns | Const
    customer_name: Columns | None = None
    sku_fallback: Columns | None = None
    sku_name: Columns | Const | None = None
    client_link: Columns | None = None
    charge_start: Columns | None = None
    charge_end: Columns | None = None
    charge_end_inclusive: bool = True
    charge_type: Columns | Const | None = None
    unit_cost: Columns | None = None
    currency: Columns | Const | None = None
    quantity_factor: Fraction = Fraction(1)
    unit_cost_factor: Fraction = Fraction(1)
    optional: frozenset[str] = frozenset()
    signature: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    record_id: str | None = None
    date_format: DateFormat = "iso"
    kinds: frozenset[FileKind] = frozenset({"json"})
    description: str = ""
    declared_in: str = ""
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

    def where(self, key: str = "") -> str:
        """``file:line`` of a key of the profile file (the file alone when unknown)."""
        if not self.declared_in:
            return f"profile {self.name!r}"
        line = self.lines.get(key) or self.lines.get(key.rsplit(".", 1)[0]) or 1
        return f"{self.declared_in}:{line}"


# the fields a profile may declare, in the order they are documented
FIELD_NAMES: tuple[str, ...] = (
    "customer_id",
    "customer_name",
    "sku",
    "sku_fallback",
    "sku_name",
    "quantity",
    "unit_cost",
    "currency",
    "charge_start",
    "charge_end",
    "charge_type",
    "client_link",
)
REQUIRED_FIELDS: tuple[str, ...] = ("customer_id", "sku", "quantity")


def aliases(cols: Columns) -> tuple[str, ...]:
    """A column spec as a tuple of names tried in order."""
    return (cols,) if isinstance(cols, str) else tuple(cols)


def detection_signature(profile: Profile) -> frozenset[str]:
    """The columns a file must carry to be recognised as ``profile``.

    The first alias of each required column, plus the declared extras; a SKU column with a
    fallback may be absent (SentinelOne site lists carry ``suite`` but not always ``sku``), and
    a constant SKU or quantity names no column.
    """
    needed = [aliases(profile.customer_id)[0]]
    if not isinstance(profile.quantity, Const):
        needed.append(aliases(profile.quantity)[0])
    if not isinstance(profile.sku, Const) and profile.sku_fallback is None:
        needed.append(aliases(profile.sku)[0])
    return frozenset(needed) | frozenset(profile.signature)
