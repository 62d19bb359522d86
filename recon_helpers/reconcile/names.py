"""Company names as vendors and PSAs really write them, reduced to one comparable form.

The same company reaches the workbook as ``Munson's Pickles LLC`` (the PSA), ``Munson’s
Pickles, L.L.C.`` (Microsoft), ``MUNSON'S PICKLES L. L. C.`` (a spreadsheet) or ``The Harbor
Group, Inc.`` beside ``Harbor Group Inc``. :func:`normalise_name` maps all of those to one key,
and only those: a real word is never dropped, so ``Contoso East`` / ``Contoso West`` and
``Northwind`` / ``Northwind Traders`` stay apart.

The steps, in order:

1. Unicode compatibility forms folded (non-breaking and narrow spaces, fullwidth letters),
   accents removed, case folded.
2. Apostrophes in every form (``' ’ ‘ ʼ ＇`` and the characters typed for one: ``´ ` ′``)
   dropped, so ``O’Reilly`` is ``oreilly``.
3. ``&`` and ``+`` read as ``and``; every other punctuation mark is a space.
4. Runs of single letters joined: ``L. L. C.`` and ``l l c`` are ``llc``, ``S.A.`` is ``sa``.
5. A leading ``the`` dropped.
6. Legal suffixes dropped from the end, repeatedly, longest phrase first (``limited
   liability company``, ``pty ltd``, ``co``, ``gmbh``, ``s a``...), but never the last word.

Example:
    >>> normalise_name("The Harbor Group, Inc.") == normalise_name("Harbor Group Inc")
    True
    >>> normalise_name("Munson’s Pickles L.L.C.")
    'munsons pickles'
"""

from __future__ import annotations

import re
import unicodedata

# single-word suffixes (after step 4, dotted forms are single words too)
LEGAL_SUFFIXES = frozenset(
    ["inc", "incorporated", "llc", "ltd", "limited", "gmbh", "pty", "plc", "corp",
     "corporation", "co", "company", "ag", "sa", "sarl", "sas", "bv", "nv", "srl", "spa", "llp",
     "lp", "pllc", "pc", "pte", "pvt", "oy", "oyj", "ab", "as", "asa", "aps", "kg", "ug", "mbh",
     "kk", "bvba", "sprl", "sl", "sau", "lda", "ltda", "spzoo"]
)
# phrases that are a suffix only as a whole (one of their words alone may be a real word)
LEGAL_PHRASES: tuple[tuple[str, ...], ...] = tuple(sorted((
    ("limited", "liability", "company"), ("limited", "liability", "co"),
    ("limited", "liability", "partnership"), ("limited", "partnership"),
    ("public", "limited", "company"), ("proprietary", "limited"),
    ("and", "co"), ("and", "company"), ("gmbh", "and", "co", "kg"), ("s", "de", "rl"),
    ("sp", "z", "oo"),
), key=len, reverse=True))

_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u2018\u201b\u02bc\u02b9\uff07\u00b4`\u2032"), None)
_AND = re.compile(r"\s*[&+＆]\s*")
_PUNCT = re.compile(r"[^\w\s]|_")


def _join_initials(words: list[str]) -> list[str]:
    """Runs of two or more one-letter words become one word (``l l c`` -> ``llc``)."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if run:
            out.extend(["".join(run)] if len(run) > 1 else run)
            run = []
        if word:
            out.append(word)
    return out


def _strip_suffixes(words: list[str]) -> list[str]:
    while len(words) > 1:
        for phrase in LEGAL_PHRASES:
            n = len(phrase)
            if len(words) > n and tuple(words[-n:]) == phrase:
                del words[-n:]
                break
        else:
            if words[-1] not in LEGAL_SUFFIXES:
                break
            words.pop()
    return words


def normalise_name(name: object) -> str:
    """The comparable form of a company name (the module docstring gives the steps).

    >>> normalise_name("Müller & Söhne GmbH.")
    'muller and sohne'
    """
    # before and after NFKC: it turns the acute accent into a space + combining mark, and
    # the fullwidth apostrophe into an ASCII one
    text = unicodedata.normalize("NFKC", str(name).translate(_APOSTROPHES)).translate(_APOSTROPHES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _PUNCT.sub(" ", _AND.sub(" and ", text))
    words = _join_initials(text.split())
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(_strip_suffixes(words))
