"""Property tests of name matching (issue 12, item 2): every way a vendor or PSA spells a
company maps to that company's client and to no other; names that differ by a real word never
merge; a name shared by two clients is ambiguous, never auto-mapped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from recon_helpers.reconcile.mapping import assign_clients, read_client_map
from recon_helpers.reconcile.names import LEGAL_SUFFIXES, normalise_name

WORDS = ("contoso", "northwind", "harbor", "pinecrest", "summit", "cedar", "ridge", "munson",
         "pickles", "blue", "river", "dental", "freight", "east", "west", "traders", "labs",
         "bakery", "marine", "oreilly", "smith", "sons", "media", "group", "partners", "café",
         "zürich", "østergaard")
# how each suffix is written: plain, dotted, spaced initials, capitalised
SUFFIXES = {
    "Inc": ("Inc", "Inc.", "INC", ", Inc.", "Incorporated"),
    "LLC": ("LLC", "L.L.C.", "L. L. C.", ", LLC", "llc", "Limited Liability Company"),
    "Ltd": ("Ltd", "Ltd.", "Limited", ", Ltd."),
    "Pty Ltd": ("Pty Ltd", "Pty. Ltd.", "PTY LTD", "Proprietary Limited"),
    "GmbH": ("GmbH", "GMBH", "G.m.b.H."),
    "S.A.": ("SA", "S.A.", "S. A."),
    "N.V.": ("NV", "N.V."),
    "PLC": ("PLC", "P.L.C.", "plc"),
    "Co.": ("Co", "Co.", "Company"),
    "Corp.": ("Corp", "Corp.", "Corporation"),
    "": ("",),
}
APOSTROPHES = ("'", "\u2019", "\u2018", "\u02bc", "\uff07", "`")
SPACES = (" ", "  ", "\u00a0", "\u202f", " \t")

words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True)


@st.composite
def company(draw):  # type: ignore[no-untyped-def]
    """(the words, the suffix key, whether it has an apostrophe word, an 'and' joint)."""
    ws = draw(words)
    return ws, draw(st.sampled_from(sorted(SUFFIXES))), draw(st.booleans()), draw(
        st.booleans()) and len(ws) > 1


def canonical(parts) -> str:  # type: ignore[no-untyped-def]
    ws, suffix, apostrophe, joint = parts
    ws = list(ws)
    if apostrophe:
        ws[0] = ws[0] + "'s"
    body = (" & ".join(ws) if joint else " ".join(ws)).title()
    return f"{body} {suffix}".strip()


@st.composite
def spelling(draw, parts):  # type: ignore[no-untyped-def]
    """One way of writing the company of ``parts`` (as a vendor export might)."""
    ws, suffix, apostrophe, joint = parts
    ws = list(ws)
    if apostrophe:
        ws[0] = ws[0] + draw(st.sampled_from(APOSTROPHES)) + "s"
    space = draw(st.sampled_from(SPACES))
    glue = draw(st.sampled_from((" & ", " and ", " + ", "&", " AND "))) if joint else space
    body = glue.join(ws)
    body = draw(st.sampled_from((str.title, str.upper, str.lower, lambda s: s)))(body)
    written = draw(st.sampled_from(SUFFIXES[suffix]))
    text = body + ("" if not written else (written if written.startswith(",") else
                                           space + written))
    if draw(st.booleans()):
        text = draw(st.sampled_from(("The ", "THE ", "the "))) + text
    text = text + draw(st.sampled_from(("", ".", " ", ",", " .")))
    return draw(st.sampled_from(("", " ", "\u00a0"))) + text


def _clients(names: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame({"client_id": list(names), "client_name": list(names.values())})
    frame["norm_name"] = frame["client_name"].map(normalise_name)
    return frame


def _assign(vendor_names: list[str], clients: pd.DataFrame) -> pd.DataFrame:
    cust = pd.DataFrame({"vendor": "microsoft", "vendor_customer_id": "",
                         "vendor_customer_name": vendor_names, "client_link": ""})
    cust["cust_key"] = cust["vendor_customer_name"]
    return assign_clients(cust, clients, read_client_map(Path("/nonexistent/clients.csv")))


@settings(max_examples=120, deadline=None)
@given(data=st.data(), parts=company())
def test_every_spelling_maps_to_its_own_client(data, parts) -> None:
    variants = [data.draw(spelling(parts)) for _ in range(4)]
    clients = _clients({"C1": canonical(parts), "C2": "Unrelated Holdings Inc"})
    got = _assign(variants, clients)
    assert got["client_id"].tolist() == ["C1"] * 4, list(zip(variants, got["client_method"],
                                                            strict=True))


@settings(max_examples=120, deadline=None)
@given(data=st.data(), parts=company(), extra=st.sampled_from(WORDS))
def test_a_name_with_one_more_real_word_never_merges(data, parts, extra) -> None:
    ws, suffix, apostrophe, joint = parts
    assume(extra not in ws and extra not in LEGAL_SUFFIXES)
    longer = ((*ws, extra), suffix, apostrophe, joint)
    clients = _clients({"SHORT": canonical(parts), "LONG": canonical(longer)})
    short, long_ = data.draw(spelling(parts)), data.draw(spelling(longer))
    got = _assign([short, long_], clients)
    assert got["client_id"].tolist() == ["SHORT", "LONG"], (short, long_)
    # and with only the other company in the PSA, neither auto-maps to it
    alone = _assign([short], _clients({"LONG": canonical(longer)}))
    assert alone["client_id"].tolist() == [""]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), parts=company())
def test_a_name_two_clients_share_is_ambiguous(data, parts) -> None:
    clients = _clients({"A": canonical(parts), "B": canonical(parts).upper() + "."})
    got = _assign([data.draw(spelling(parts))], clients)
    assert got["client_method"].tolist() == ["ambiguous"]
    assert got["client_id"].tolist() == [""]


def test_known_near_misses_stay_apart() -> None:
    pairs = [("Contoso East", "Contoso West"), ("Northwind", "Northwind Traders"),
             ("Blue River Dental", "Blue River"), ("Smith & Sons", "Smith")]
    for a, b in pairs:
        assert normalise_name(a) != normalise_name(b), (a, b)
