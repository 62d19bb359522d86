"""Vendor exports declared as profiles: a few lines of TOML per vendor, no code.

Vendor consoles that report "how many units each customer has" (devices per Datto RMM site,
licences per SentinelOne site, agents per Huntress organization, usage per Acronis tenant)
share one shape: a list of records, one per customer (or customer x usage), with an ID, a name
and a count. A :class:`Profile` names those columns; :func:`to_format` turns it into a
registered :class:`SourceFormat` of entity ``delivered``. The shipped profiles are TOML files in
``loaders/vendor_profiles/``, read by the same code as a workspace's own
``mappings/profiles/*.toml`` (:mod:`recon_helpers.ingest.loaders.workspace_profiles`).

Keys (SPEC "Keys per format"): Datto RMM site ``uid``/``name``, SKU ``devices``; SentinelOne
site ``id``/``name``, SKU ``sku`` else ``suite``; Huntress ``id``/``name``, SKU ``agents``;
Acronis ``tenant_uuid`` (usages carry no tenant name), SKU ``usage_name``.

Every column a profile names must be in a file it reads, unless the field is ``optional``: a
typo in a profile is an error naming the profile line, never a column of empty costs.

Limit: quantities are int64 fixed point with ``QTY_SCALE = 10**4``, so one value holds at
most about 9.2e14 units. Acronis reports storage in bytes: 9.2e14 bytes is about 838 TiB per
usage line; a larger value is quarantined as ``bad_number``, never wrapped or rounded. Sums of
byte quantities over many tenants meet the same ceiling sooner, so map storage SKUs with a
``units_per_product`` (e.g. bytes per GB) before adding them up.
"""

from __future__ import annotations

from fractions import Fraction
from importlib import resources

import numpy as np
import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.schemas import Kind, QuarantineReason
from recon_helpers.ingest.loaders.amounts import credit_signs
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.loaders.canonical import with_currency
from recon_helpers.ingest.loaders.profile_model import (
    FIELD_NAMES,
    Columns,
    Const,
    Profile,
    aliases,
    detection_signature,
)
from recon_helpers.ingest.loaders.profile_toml import read_profile
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import (
    Converted,
    Field,
    LoadOptions,
    convert,
    quarantine_rows,
    tag_quarantine,
)

SHIPPED = "vendor_profiles"  # package folder of the shipped profile files
_INT64_MAX = 2**63 - 1


def _field(target: str, cols: Columns | Const | None, kind: Kind, required: bool = False) -> Field:
    if cols is None:
        return Field(target, (), kind)
    if isinstance(cols, Const):
        return Field(target, (), kind, default=cols.value)
    return Field(target, aliases(cols), kind, required)


def fields_of(profile: Profile) -> tuple[Field, ...]:
    """The validation Fields a profile implies (targets are DELIVERED columns).

    ``vendor_sku`` is only required when it has no fallback: the fallback is applied after
    conversion, and rows empty in both are quarantined then.
    """
    dates = {"date_format": profile.date_format}
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
        Field("charge_start", aliases(profile.charge_start) if profile.charge_start else (),
              "date", **dates),
        Field("charge_end", aliases(profile.charge_end) if profile.charge_end else (),
              "date", **dates),
        _field("charge_type", profile.charge_type, "text"),
        _field("client_link", profile.client_link, "id"),
    )


def check_columns(profile: Profile, raw: RawTable) -> None:
    """Every column the profile names is in the file, unless its field is optional.

    Raises:
        InputFileError: names the file, the missing column, and the profile line naming it.
    """
    if raw.rows_read == 0:  # an empty JSON list has no keys at all: nothing can be checked
        return
    for name in FIELD_NAMES:
        spec = getattr(profile, name)
        if spec is None or isinstance(spec, Const) or name in profile.optional:
            continue
        if raw.column(*aliases(spec)) is None:
            shown = " or ".join(repr(c) for c in aliases(spec))
            raise InputFileError(
                raw.path,
                f"has no column {shown}, which {profile.where('fields.' + name)} names for "
                f"`{name}`; fix the profile, or mark the field optional "
                f"({name} = {{ column = ..., optional = true }}) if the export may lack it",
                row=0,
            )


def scale_exact(values: pd.Series, factor: Fraction) -> tuple[pd.Series, pd.Series]:
    """``values x factor`` on fixed-point integers, rounded half away from zero.

    Returns:
        (Int64 result, mask of values whose result does not fit int64); missing stays missing.
    """
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    too_large = pd.Series(False, index=values.index)
    known = values.notna().to_numpy(dtype=bool)
    if factor == 1 or not known.any():
        return values.astype("Int64"), too_large
    num, den = factor.numerator, factor.denominator
    # Python integers (object arrays): value x numerator may exceed int64 before dividing
    raw = values[known].astype("int64").to_numpy().astype(object) * num
    magnitude = (np.abs(raw) * 2 + den) // (den * 2)
    scaled = np.where(raw < 0, -magnitude, magnitude)
    fits = (magnitude <= _INT64_MAX).astype(bool)
    index = values.index[known]
    out[index[fits]] = scaled[fits].astype("int64")
    too_large[index[~fits]] = True
    return out, too_large


def _convert_units(profile: Profile, frame: pd.DataFrame) -> tuple[pd.DataFrame, list]:
    """Apply the profile's quantity / unit-cost factors; quarantine results past int64."""
    parts = []
    for column, factor in (("quantity", profile.quantity_factor),
                           ("unit_cost", profile.unit_cost_factor)):
        if factor == 1:
            continue
        scaled, too_large = scale_exact(frame[column], factor)
        frame[column] = scaled if column == "unit_cost" else scaled.fillna(0).astype("int64")
        frame, q = quarantine_rows(
            frame, too_large, QuarantineReason.BAD_NUMBER,
            f"{column} x {factor} does not fit the fixed-point range", column,
        )
        parts.append(q)
    return frame, parts


def parse_profile(profile: Profile, raw: RawTable, options: LoadOptions) -> Converted:
    """Convert a profile export's rows into DELIVERED rows (with quarantine).

    Raises:
        InputFileError: the file lacks a column the profile names (see :func:`check_columns`).
    """
    check_columns(profile, raw)
    out = convert(raw, fields_of(profile), options)
    frame = out.frame
    frame["vendor_sku"] = frame["vendor_sku"].where(
        frame["vendor_sku"].ne(""), frame["sku_fallback"]
    )
    frame = frame.drop(columns="sku_fallback")
    sku_column = "vendor_sku" if isinstance(profile.sku, Const) else aliases(profile.sku)[0]
    frame, q = quarantine_rows(
        frame,
        frame["vendor_sku"].eq(""),
        QuarantineReason.MISSING_VALUE,
        f"{sku_column} is empty"
        + (f" and so is {aliases(profile.sku_fallback)[0]}" if profile.sku_fallback else ""),
        "vendor_sku",
    )
    frame, converted = _convert_units(profile, frame)
    frame["quantity"], frame["unit_cost"] = credit_signs(frame["quantity"], frame["unit_cost"])
    if not profile.charge_end_inclusive:
        frame["charge_end"] = frame["charge_end"] - pd.Timedelta(days=1)
    extra = [p for p in (q, *converted) if len(p)]
    quarantine = pd.concat([out.quarantine, *extra], ignore_index=True) if extra else out.quarantine
    return Converted(with_currency(frame, options),
                     tag_quarantine(quarantine, vendor=profile.vendor))


def to_format(profile: Profile, origin: str = "") -> SourceFormat:
    """The registered SourceFormat (entity ``delivered``) a profile describes.

    Args:
        profile: the profile.
        origin: for a workspace's own profile, where it is declared (``file:line``): such a
            format never wins detection by signature size (see ``loaders.detect_format``).
    """

    def parse(raw: RawTable, options: LoadOptions) -> Converted:
        return parse_profile(profile, raw, options)

    return SourceFormat(
        name=profile.name,
        entity="delivered",
        signature=detection_signature(profile),
        parse=parse,
        kinds=profile.kinds,
        container=profile.container,
        excludes=frozenset(profile.excludes),
        record_id=profile.record_id,
        description=profile.description,
        origin=origin,
        slashed_dates=profile.date_format if profile.date_format in ("mdy", "dmy") else None,
    )


def shipped_profiles() -> tuple[Profile, ...]:
    """The profiles shipped with the package (``loaders/vendor_profiles/*.toml``), by name."""
    folder = resources.files("recon_helpers.ingest.loaders") / SHIPPED
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as path:
                shown = f"recon_helpers/ingest/loaders/{SHIPPED}/{entry.name}"
                found.append(read_profile(path, shown))
    return tuple(found)


PROFILES: tuple[Profile, ...] = shipped_profiles()

FORMATS: tuple[SourceFormat, ...] = tuple(to_format(p) for p in PROFILES)

__all__ = ["FORMATS", "PROFILES", "Const", "Profile", "fields_of", "parse_profile", "to_format"]
