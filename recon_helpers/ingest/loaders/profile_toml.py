"""Vendor profiles written as TOML files, read and checked before any export is loaded.

A profile file declares one export (see the README, "Adding a vendor without code")::

    name = "ninjaone_devices"            # the format name (inventory, recon.toml)
    vendor = "ninjaone"                  # delivered.vendor
    [detect]
    kinds = ["json"]                     # json, csv, xlsx
    container = ""                       # JSON: where the records list sits ("" = bare array)
    columns = ["nodeClass"]              # more keys the export must carry
    [fields]
    customer_id = "organizationId"
    sku = "nodeClass"
    quantity = { value = "1" }           # every record is one device

Everything is validated here: an unknown or missing key, a value of the wrong type, an unknown
date format or file kind, a field the profile format does not have, an option on a field that
does not take it. Each error is a ConfigError naming the file, the line and the key, found by
scanning the text (tomllib reports no positions for keys).
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn, get_args

from recon_helpers.core.errors import ConfigError
from recon_helpers.ingest.loaders.profile_model import (
    FIELD_NAMES,
    REQUIRED_FIELDS,
    Columns,
    Const,
    Profile,
    detection_signature,
)
from recon_helpers.ingest.parsing import DateFormat
from recon_helpers.ingest.raw import norm_header

TOP_KEYS = ("name", "vendor", "description", "date_format", "detect", "fields")
DETECT_KEYS = ("kinds", "container", "columns", "excludes", "record_id")
FIELD_OPTIONS = ("column", "value", "optional", "multiply_by", "divide_by", "inclusive")
KINDS = ("csv", "json", "xlsx")
DATE_FORMATS = get_args(DateFormat)
# fields that may be a fixed value, and fields whose number may be converted
CONSTANT_OK = frozenset({"sku", "sku_name", "quantity", "currency", "charge_type"})
CONVERTIBLE = frozenset({"quantity", "unit_cost"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VENDOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def key_lines(text: str) -> dict[str, int]:
    """Line of each key (``"fields.quantity"``), table (``"detect"``) and inline key."""
    header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
    assignment = re.compile(r"""^\s*([A-Za-z0-9_\-."' ]+?)\s*=""")
    inline = re.compile(r"[{,]\s*([A-Za-z0-9_]+)\s*=")
    table, found = "", {}
    for number, line in enumerate(text.splitlines(), start=1):
        if match := header.match(line):
            table = _dotted(match[1])
            found.setdefault(table, number)
        elif match := assignment.match(line):
            key = _dotted(match[1])
            full = f"{table}.{key}" if table else key
            found.setdefault(full, number)
            for sub in inline.findall(line[match.end():]):
                found.setdefault(f"{full}.{sub}", number)
    return found


def _dotted(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


class _File:
    """One profile file being read: its label and key lines, for error messages."""

    def __init__(self, label: str, text: str) -> None:
        self.label = label
        self.lines = key_lines(text)

    def line(self, key: str) -> int:
        while key and key not in self.lines:
            key = key.rpartition(".")[0]
        return self.lines.get(key, 1)

    def fail(self, key: str, problem: str) -> NoReturn:
        raise ConfigError(f"{self.label}:{self.line(key)}: `{key}`: {problem}")


def read_profile(path: Path, label: str | None = None) -> Profile:
    """Read and validate one profile file.

    Args:
        path: the TOML file.
        label: how messages name the file (default: the path as given).

    Raises:
        ConfigError: unreadable TOML, or any problem with a key (names file, line and key).
    """
    label = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot be read as UTF-8 text: {exc}") from exc
    return parse_profile_text(text, label)


def parse_profile_text(text: str, label: str) -> Profile:
    """Validate profile TOML text into a :class:`Profile` (see :func:`read_profile`)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from exc
    f = _File(label, text)
    _known(f, doc, TOP_KEYS, "")
    for key in ("name", "vendor", "detect", "fields"):
        if key not in doc:
            f.fail(key, f"is required (a profile names its {key})")
    name = _text(f, doc, "name")
    if not _NAME.match(name):
        f.fail("name", f"{name!r} must be lower case letters, digits and _ (a format name)")
    vendor = _text(f, doc, "vendor")
    if not _VENDOR.match(vendor):
        f.fail("vendor", f"{vendor!r} is not a vendor key (letters, digits, _ . -)")
    date_format = str(doc.get("date_format", "iso"))
    if date_format not in DATE_FORMATS:
        f.fail("date_format", f"{date_format!r} is not one of {', '.join(DATE_FORMATS)}")
    detect = _table(f, doc, "detect")
    _known(f, detect, DETECT_KEYS, "detect")
    fields = _table(f, doc, "fields")
    _known(f, fields, FIELD_NAMES, "fields")
    profile = Profile(
        vendor=vendor,
        name=name,
        description=_text(f, doc, "description", required=False),
        date_format=date_format,  # type: ignore[arg-type]
        declared_in=label,
        lines=f.lines,
        **_detect(f, detect),
        **_fields(f, fields),
    )
    _check_signature(f, profile)
    return profile


def _known(f: _File, table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            full = f"{where}.{key}" if where else key
            f.fail(full, f"unknown key; {'[' + where + ']' if where else 'a profile'} "
                         f"knows {', '.join(known)}")


def _table(f: _File, doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc[key]
    if not isinstance(value, dict):
        f.fail(key, f"must be a table ([{key}]), not {type(value).__name__}")
    return value


def _text(f: _File, table: dict[str, Any], key: str, required: bool = True) -> str:
    if key not in table:  # the required top-level keys are checked before
        return ""
    value = table[key]
    if not isinstance(value, str) or (required and not value.strip()):
        f.fail(key, f"must be a non-empty string, not {value!r}")
    return value.strip()


def _names(f: _File, value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        f.fail(key, f"must be a column name or a list of column names, not {value!r}")
    return tuple(v.strip() for v in value)


def _detect(f: _File, detect: dict[str, Any]) -> dict[str, Any]:
    kinds = detect.get("kinds", ["json"])
    if (not isinstance(kinds, list) or not kinds
            or not all(isinstance(k, str) and k in KINDS for k in kinds)):
        f.fail("detect.kinds", f"must be a list of {', '.join(KINDS)}, not {kinds!r}")
    if "json" in kinds:
        if "container" not in detect:
            f.fail("detect.container", 'is required for JSON: the key holding the records '
                                       '("" for a bare array, "data.items" when nested)')
        container = detect["container"]
        if not isinstance(container, str):
            f.fail("detect.container", f"must be a string, not {container!r}")
    elif "container" in detect:
        f.fail("detect.container", "applies to JSON only; kinds has no json")
    else:
        container = None
    record_id = detect.get("record_id")
    if record_id is not None and (not isinstance(record_id, str) or not record_id.strip()):
        f.fail("detect.record_id", f"must be a column name, not {record_id!r}")
    return {
        "kinds": frozenset(kinds),
        "container": container,
        "signature": _names(f, detect.get("columns", []), "detect.columns"),
        "excludes": _names(f, detect.get("excludes", []), "detect.excludes"),
        "record_id": record_id,
    }


def _fields(f: _File, fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"optional": set()}
    for name in REQUIRED_FIELDS:
        if name not in fields:
            f.fail(f"fields.{name}", f"is required: which column holds the {name}"
                                     + (" (or a fixed { value = ... })" if name in CONSTANT_OK
                                        else ""))
    for name, spec in fields.items():
        out[name] = _field(f, name, spec, out)
    if "sku" in out["optional"] and "sku_fallback" not in fields:
        f.fail("fields.sku.optional", "sku may only be absent with a sku_fallback column")
    out["optional"] = frozenset(out["optional"])
    return out


def _field(f: _File, name: str, spec: Any, out: dict[str, Any]) -> Columns | Const:
    key = f"fields.{name}"
    if not isinstance(spec, dict):
        return _columns(f, spec, key)
    _known(f, spec, FIELD_OPTIONS, key)
    if ("column" in spec) == ("value" in spec):
        f.fail(key, "needs exactly one of column = ... or value = ...")
    allowed_options = {"multiply_by": name in CONVERTIBLE, "divide_by": name in CONVERTIBLE,
                       "inclusive": name == "charge_end", "value": name in CONSTANT_OK}
    for option, allowed in allowed_options.items():
        if option in spec and not allowed:
            f.fail(f"{key}.{option}", f"{name} does not take {option}")
    if "optional" in spec:
        if not isinstance(spec["optional"], bool) or "value" in spec:
            f.fail(f"{key}.optional", "must be true or false, beside a column")
        if spec["optional"]:
            if name in ("customer_id", "quantity"):
                f.fail(f"{key}.optional", f"{name} is required on every row; it cannot be optional")
            out["optional"].add(name)
    if "inclusive" in spec:
        if not isinstance(spec["inclusive"], bool):
            f.fail(f"{key}.inclusive", "must be true or false")
        out["charge_end_inclusive"] = spec["inclusive"]
    factor = _number(f, spec, "multiply_by", key) / _number(f, spec, "divide_by", key)
    if factor != 1:
        out[f"{name}_factor"] = factor
    if "value" in spec:
        return _constant(f, name, spec["value"], f"{key}.value")
    return _columns(f, spec["column"], f"{key}.column")


def _columns(f: _File, spec: Any, key: str) -> Columns:
    names = _names(f, spec, key)
    return names[0] if len(names) == 1 else names


def _constant(f: _File, name: str, value: Any, key: str) -> Const:
    if isinstance(value, bool) or not isinstance(value, str | int):
        f.fail(key, f"must be a string (or a whole number), not {value!r}")
    text = str(value).strip()
    if not text:
        f.fail(key, "must not be empty")
    if name == "quantity":
        try:
            Decimal(text)
        except InvalidOperation:
            f.fail(key, f"{text!r} is not a number")
    return Const(text)


def _number(f: _File, spec: dict[str, Any], option: str, key: str) -> Fraction:
    if option not in spec:
        return Fraction(1)
    value = spec[option]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        f.fail(f"{key}.{option}", f"must be a positive number, not {value!r}")
    try:
        number = Fraction(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        f.fail(f"{key}.{option}", f"{value!r} is not a number")
    if number <= 0:
        f.fail(f"{key}.{option}", f"must be positive, not {value!r}")
    return number


def _check_signature(f: _File, profile: Profile) -> None:
    signature = {norm_header(c) for c in detection_signature(profile)}
    clash = sorted(c for c in profile.excludes if norm_header(c) in signature)
    if clash:
        f.fail("detect.excludes", f"excludes {clash}, which the profile needs to recognise a file")
