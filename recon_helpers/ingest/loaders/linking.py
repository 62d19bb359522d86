"""Steps the PSA linkers share: parse with a PSA marker, look up references, quarantine, join.

A PSA linker (ConnectWise, Autotask) turns auxiliary rows into canonical ones by joining each
row to the record it points at (an agreement, a contract, an invoice). A row whose reference
is not loaded cannot be placed: it goes to the quarantine as ``unknown_reference``, so every
input row ends in an output table or in the quarantine (row conservation).

Example:
    contracts = reference_table(entities.get(CONTRACTS), "contract_id", ["contract_id"])
    rows, kept, q = join_referenced(
        units, contracts, "contract_id", "contractID {value} matches no loaded contract"
    )
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from recon_helpers.core.schemas import QuarantineReason, conform_quarantine, empty_quarantine
from recon_helpers.ingest.loaders.base import ParseFn
from recon_helpers.ingest.loaders.canonical import with_currency
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions, convert, quarantine_rows


def psa_parser(
    fields: tuple[Field, ...], family: str, *, psa_marker: bool = False, currency: bool = False
) -> ParseFn:
    """A parse function for one PSA entity: :func:`convert`, then currency and PSA marker.

    Args:
        fields: the entity's fields.
        family: the PSA (``connectwise``, ``autotask``) written to ``psa``.
        psa_marker: add ``psa = family``, so the PSA's linker can pick its own rows out of
            tables other files share (clients, catalogue).
        currency: add ``currency``: the row's code upper-cased, else the file's (recon.toml)
            currency; fields without a ``currency`` target give the file's currency to all.
    """

    def parse(raw: RawTable, options: LoadOptions) -> Converted:
        out = convert(raw, fields, options)
        if currency:
            if "currency" not in out.frame:
                out.frame["currency"] = ""
            out.frame = with_currency(out.frame, options)
        if psa_marker:
            out.frame["psa"] = family
        return out

    return parse


def reference_table(
    frame: pd.DataFrame | None, key: str, columns: Sequence[str], dates: Iterable[str] = ()
) -> pd.DataFrame:
    """The referenced entity, one row per ``key`` (the first) and only ``columns``.

    Several files of one entity may overlap; the first row of an id is the one joined.

    Args:
        frame: the loaded entity, or None when no file of it is loaded: then an empty frame
            (object columns; those named in ``dates`` datetime), so every reference is unknown.
        key: the id column the other entity points at.
        columns: the columns to keep, in order (``key`` among them).
        dates: date columns of the empty frame.
    """
    if frame is None:
        dated = set(dates)
        frame = pd.DataFrame(
            {c: pd.Series(dtype=object) for c in columns if c not in dated}
        ).assign(**{c: pd.NaT for c in columns if c in dated})
    return frame.drop_duplicates(key)[list(columns)]


def quarantine_where(
    frame: pd.DataFrame, mask: pd.Series, reason: QuarantineReason, column: str, detail: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move masked rows to quarantine; ``detail`` may name ``{value}``, the row's ``column``.

    Returns:
        (kept rows, quarantine rows)
    """
    kept, q = quarantine_rows(frame, mask, reason, detail, column)
    if len(q) and "{value}" in detail:
        before, after = detail.split("{value}", 1)
        q["detail"] = before + q["value"].astype(str) + after
    return kept, q


def join_referenced(
    rows: pd.DataFrame, reference: pd.DataFrame, key: str, detail: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Join rows to the record their ``key`` names; quarantine those naming none.

    Args:
        rows: the referencing rows (with ``source`` and ``row``).
        reference: one row per ``key`` (see :func:`reference_table`).
        key: the id column both frames carry.
        detail: quarantine message; ``{value}`` stands for the unknown id.

    Returns:
        (joined rows, kept input rows, quarantine rows as ``unknown_reference`` of ``key``)
    """
    unknown = ~rows[key].isin(reference[key])
    kept, q = quarantine_where(rows, unknown, QuarantineReason.UNKNOWN_REFERENCE, key, detail)
    joined = kept.merge(reference, on=key, how="left", validate="many_to_one")
    return joined, kept, q


def concat_quarantine(*parts: pd.DataFrame) -> pd.DataFrame:
    """The non-empty quarantine parts in one frame (an empty quarantine when none is)."""
    found = [p for p in parts if len(p)] or [empty_quarantine()]
    return conform_quarantine(pd.concat(found, ignore_index=True))


def raw_values(raw: RawTable, rows: pd.Series, *columns: str) -> pd.Series:
    """The values (stripped text, "" when absent) of a file's data ``rows`` in the first of
    ``columns`` the file has, on ``rows``' index."""
    col = raw.column(*columns)
    if col is None or not len(rows):
        return pd.Series("", index=rows.index, dtype=object)
    position = pd.Series(range(len(raw.rows)), index=raw.rows.to_numpy())
    at = position.reindex(rows.to_numpy()).to_numpy()
    known = ~pd.isna(at)
    text = raw.data[col].astype(str).str.strip().to_numpy()
    out = pd.Series("", index=rows.index, dtype=object)
    out[known] = text[at[known].astype(int)]
    return out


def identify_through(
    quarantine: pd.DataFrame,
    raws: Sequence[RawTable],
    key: tuple[str, ...],
    clients: pd.Series,
    product: tuple[str, ...] = (),
    client: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Fill ``client_id`` / ``product_id`` of quarantined rows of ``raws`` where empty.

    A row that reaches its client through another record (an addition through its
    agreement): its ``key`` column (raw column names) is looked up in ``clients`` (key ->
    client_id); a ``client`` column of the row itself wins when it has one. ``product`` names
    the raw column of its product id.
    """
    q = quarantine.copy()
    for raw in raws:
        mine = q["file"].eq(raw.name)
        if not mine.any():
            continue
        rows = q.loc[mine, "row"]
        found = raw_values(raw, rows, *key).map(clients).fillna("").astype(object)
        if client:
            own = raw_values(raw, rows, *client)
            found = own.where(own.ne(""), found)
        for column, values in (("client_id", found),
                               ("product_id", raw_values(raw, rows, *product) if product
                                else pd.Series("", index=rows.index))):
            current = q.loc[mine, column]
            q.loc[mine, column] = current.where(current.ne(""), values)
    return q


def client_of(frame: pd.DataFrame | None, key: str, client: str = "client_id") -> pd.Series:
    """``key`` -> ``client`` of a loaded entity (the first row of each key), for lookups."""
    if frame is None or frame.empty or key not in frame or client not in frame:
        return pd.Series(dtype=object)
    first = frame.drop_duplicates(key)
    return pd.Series(first[client].astype(str).to_numpy(), index=first[key].astype(str))
