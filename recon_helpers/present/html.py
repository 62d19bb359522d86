"""HTML primitives every notebook view shares: escaped tables, package-built markup, the CSS.

Fixed-point columns become exact decimal text (``qty()``/``money()``), Decimals are written with
thousands separators and never rounded, and every cell is escaped with ``html.escape`` when the
table is drawn, because client names and SKUs come from exports we do not control.
:class:`Table` keeps the readable frame in ``.frame`` for further work in JupyterLab.

Example:
    >>> Table(frame, "Input files")          # last expression of a cell: drawn as a table
    >>> Html("<p>built here, escaped</p>")
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.core.schemas import money, qty
from recon_helpers.present.fmt import DASH, value_text


class Html:
    """Package-built HTML (every input string already escaped) for notebook display."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def to_html(self) -> str:
        """The markup (as :meth:`Table.to_html`)."""
        return self.markup


MONEY_WORDS = ("price", "cost", "impact", "amount", "to_bill", "to_credit", "previous", "latest",
               "change", "revenue", "margin", "total", "contracted", "invoiced_value",
               "delivered_value", "at_risk")
NOT_MONEY = ("_pct", "pct_", "lines", "count")  # margin_pct is a percentage, not money

# Shown once per notebook with the parameters (ReportContext), so JupyterLab and the HTML
# export style the package's tables alike.
CSS = """<style type="text/css">
.recon-table { border-collapse: collapse; font-size: 12px; margin: 4px 0 12px; }
.jp-RenderedHTMLCommon .recon-table th, .jp-RenderedHTMLCommon .recon-table td,
.recon-table th, .recon-table td { text-align: left; padding: 2px 6px; vertical-align: top; }
.jp-RenderedHTMLCommon .recon-table td.num, .recon-table td.num {
  text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.recon-scroll { overflow-x: auto; max-width: 100%; }
.recon-caption { font-weight: 600; margin: 8px 0 2px; }
.recon-cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.recon-card { border: 1px solid #bbb; border-radius: 6px; padding: 8px 12px; min-width: 140px; }
.recon-card .value { font-size: 20px; font-weight: 700; }
.recon-card .label { font-size: 12px; color: #555; }
.recon-note { background: #f6f8fa; border-left: 3px solid #888; padding: 4px 10px; }
.recon-blockers { background: #fff4e5; border-left: 4px solid #c25e00; padding: 6px 12px;
  margin: 8px 0; }
.recon-blockers ul { margin: 4px 0 0; }
.recon-clear { border-left: 4px solid #2e7d32; padding: 4px 10px; }
.recon-findings { max-width: 1280px; }
.recon-table tr.recon-sub td { padding: 0 6px 4px; border-top: none; }
.recon-table tr.recon-sub summary { font-size: 11px; color: #555; cursor: pointer; }
.recon-table tr.recon-sub details[open] { background: #f6f8fa; padding: 4px 8px; }
.recon-findings tr.recon-main[data-status="open"] td:last-child { color: #b00020; }
.recon-findings tr.recon-main[data-status="held"] td:last-child { color: #c25e00; }
.recon-dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px;
  margin: 2px 0; }
.recon-dl dt { color: #555; } .recon-dl dd { margin: 0; overflow-wrap: anywhere; }
.recon-card.risk { border-color: #c25e00; } .recon-card.bill { border-color: #1f5fbf; }
.recon-card.open { border-color: #b00020; } .recon-card .sub { font-size: 11px; color: #555; }
</style>"""


def text(value: Any, *, money_like: bool = False) -> str:
    """Display text of one value (:func:`recon_helpers.present.fmt.value_text`): money with
    two decimals, quantities without trailing zeros, yes/no, a dash for unknown."""
    return value_text(value, money_like=money_like)


def is_money(column: Any) -> bool:
    """Whether a column's name says it holds money (``unit_price``, ``impact``, ...)."""
    name = str(column)
    return any(w in name for w in MONEY_WORDS) and not any(w in name for w in NOT_MONEY)


def dsum(values: Iterable[Any]) -> Decimal:
    """Sum of the Decimals among ``values`` (missing values skipped), at least to the cent."""
    return sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))


def _numeric(col: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return True
    return any(isinstance(v, Decimal | int) and not isinstance(v, bool) for v in col.head(50))


class Table:
    """A table drawn as escaped HTML with a caption; ``frame`` holds the readable values.

    ``fold`` names columns shown in a ``<details>`` row under each row instead of as columns
    (long ids, hashes, raw values), so the table stays narrow.
    """

    def __init__(self, frame: pd.DataFrame, caption: str = "", empty: str = "None.",
                 fold: Iterable[str] = ()) -> None:
        self.frame = frame.reset_index(drop=True)
        self.caption = caption
        self.empty = empty
        self.fold = tuple(c for c in fold if c in self.frame.columns)

    def to_html(self) -> str:
        """The escaped HTML of the caption and table."""
        cap = (f'<div class="recon-caption">{html.escape(self.caption)}</div>'
               if self.caption else "")
        if self.frame.empty:
            return f'{cap}<p class="recon-empty">{html.escape(self.empty)}</p>'
        cols = [c for c in self.frame.columns if c not in self.fold]
        nums = {c for c in cols if _numeric(self.frame[c])}
        money_cols = {c for c in cols if is_money(c)}
        # underscores read as spaces, so long names wrap instead of widening the table
        head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in cols)
        body = []
        for row in self.frame.to_dict("records"):  # display only
            cells = "".join(
                f'<td{" class=num" if c in nums else ""}>'
                f"{html.escape(text(row[c], money_like=c in money_cols))}</td>" for c in cols)
            body.append(f"<tr>{cells}</tr>")
            if self.fold:
                items = "".join(
                    f"<dt>{html.escape(str(c).replace('_', ' '))}</dt>"
                    f"<dd>{html.escape(text(row[c], money_like=is_money(c)) or DASH)}</dd>"
                    for c in self.fold)
                body.append(f'<tr class="recon-sub"><td colspan="{len(cols)}"><details>'
                            f"<summary>{html.escape(', '.join(self.fold))}</summary>"
                            f'<dl class="recon-dl">{items}</dl></details></td></tr>')
        css = "recon-table recon-folded" if self.fold else "recon-table"
        return (f'{cap}<div class="recon-scroll"><table class="{css}"><thead><tr>{head}'
                f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"{self.caption}\n{self.frame.to_string(index=False)}"


def table(frame: pd.DataFrame, caption: str = "", empty: str = "None.") -> Table:
    """Any DataFrame as an escaped, readable :class:`Table`."""
    return Table(frame, caption, empty)


def fixed_point(frame: pd.DataFrame, quantities: Iterable[str] = (),
                amounts: Iterable[str] = ()) -> pd.DataFrame:
    """Copy of ``frame`` with fixed-point quantity and money columns as exact Decimals."""
    out = frame.copy()
    for col, conv in [(c, qty) for c in quantities] + [(c, money) for c in amounts]:
        out[col] = pd.Series([conv(v) for v in out[col].astype(object)], index=out.index,
                             dtype=object)
    return out
