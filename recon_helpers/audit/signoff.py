"""Sign-off seals and their verification.

A seal is a ``signoff`` ledger entry whose payload holds the sha256 of every rendered report
file, every input file of the month, the mapping files, ``recon.toml`` and the ledger head at
that moment; the same seal is written to ``reports/<YYYY-MM>/signoff.json``. The preparer
signs first, then a different reviewer. A decision recorded for the month after a seal
reopens it (the old seal stays in the trail) until the preparer signs the re-rendered report.

:func:`verify` recomputes everything against the latest seal and names what changed.

Files whose name starts with ``.`` (``.ipynb_checkpoints``, editor swap files, our own
temporary files), ``signoff.json`` itself, ``signoff.html`` (its readable page, written
by :func:`recon_helpers.present.signoff.write_signoff_page`) and the signed copy of the
monthly report (``SIGNED_COPY``: the sealed page with the signers, the seal and the waivers
added, which ``recon verify`` rebuilds and compares) are not part of the seal.

The preparer signs only a month with nothing unsettled (:mod:`.readiness`), or over a waiver:
``seal(..., waive=REASON)`` first appends a ``waiver`` entry listing every item as it stands.

What the seal covers stays as sealed. While a month is prepared or signed, re-rendering its
report is refused (:func:`guard_sealed`) unless it is reopened on purpose (a ``reopen``
entry, ``recon report --reopen REASON``); a client statement written after the seal is
recorded as ``issued`` with its sha256 (:func:`record_issued`), which ``verify`` accepts in
place of the sealed hash and which does not reopen the month.

Example:
    >>> seal(ws, october, "preparer", "Alice")
    >>> seal(ws, october, "reviewer", "Bob")
    >>> verify(ws, october)
    []
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recon_helpers.audit.ledger import GENESIS, Entry, Ledger, LedgerConflict
from recon_helpers.audit.readiness import Readiness, month_readiness
from recon_helpers.core.errors import LedgerError, UsageError
from recon_helpers.core.files import atomic_write_text, sha256_file
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace

SEAL_FILE = "signoff.json"
SEAL_PAGE = "signoff.html"  # the seal as a page the report links to; rewritten, not sealed
SIGNED_COPY = "signed_report.html"  # the monthly report with its signers and seal; rebuilt
UNSEALED = (SEAL_FILE, SEAL_PAGE, SIGNED_COPY)
ROLES = ("preparer", "reviewer")
GROUPS = ("report", "inputs", "mappings", "config")
_LABELS = {
    "report": "report file",
    "inputs": "input file",
    "mappings": "mapping",
    "config": "settings file",
}
_REPORT_SUFFIXES = (".html", ".ipynb")


class SignoffError(UsageError):
    """A sign-off was refused: nothing rendered, wrong order, or the same person twice."""


class NotReady(SignoffError):
    """The preparer's sign-off was refused: the month has unsettled items (exit 1, listing
    them), and no waiver was given."""

    exit_code = 1

    def __init__(self, ready: Readiness) -> None:
        self.readiness = ready
        lines = "\n".join(f"  - {line}" for line in ready.lines(max_rows=20))
        super().__init__(
            f"{ready.period} is not ready to sign: {ready.summary()}.\n{lines}\n"
            "Settle them (recon map, recon resolve, fix the inputs), or sign over them with "
            "--waive REASON, which records each one as waived in the ledger and on the "
            "sign-off page.")


class SealedError(UsageError):
    """A write into a prepared or signed month's sealed report set was refused."""


@dataclass(frozen=True)
class SealState:
    """Where a month stands, read from its ledger entries."""

    status: str  # open | prepared | signed | reopened
    preparer: Entry | None  # preparer seal of the current cycle
    reviewer: Entry | None  # reviewer seal of the current cycle
    latest_seal: Entry | None  # newest signoff entry, whatever came after it
    after_seal: tuple[Entry, ...]  # decisions, mapping changes, reopens after latest_seal
    waivers: tuple[Entry, ...] = ()  # the waiver entries the current preparer signed over
    issued: tuple[Entry, ...] = ()  # files recorded as issued after latest_seal


def folder_hashes(folder: Path, exclude: Sequence[str] = ()) -> dict[str, str]:
    """sha256 of every file under ``folder`` by relative POSIX path (dot-files skipped)."""
    if not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or rel.as_posix() in exclude:
            continue
        if path.is_file():
            out[rel.as_posix()] = sha256_file(path)
    return out


def fingerprint(workspace: Workspace, period: Period) -> dict[str, dict[str, str]]:
    """Current hashes of everything a seal covers, by group (report, inputs, mappings, config)."""
    optional = {
        "mappings": (workspace.clients_map, workspace.products_map, workspace.ignore_map),
        "config": (workspace.config_path,),
    }
    prints = {
        "report": folder_hashes(workspace.report_dir(period), exclude=UNSEALED),
        "inputs": folder_hashes(workspace.inputs(period)),
    }
    for group, paths in optional.items():
        prints[group] = {p.name: sha256_file(p) for p in paths if p.is_file()}
    return prints


def diff_prints(sealed: dict[str, Any], current: dict[str, dict[str, str]]) -> list[str]:
    """Name every file that changed, was added or was removed since ``sealed``."""
    problems = []
    for group in GROUPS:
        old, new = sealed.get(group) or {}, current.get(group) or {}
        label = _LABELS[group]
        for name in sorted(old.keys() | new.keys()):
            if name not in new:
                problems.append(f"{label} {name} removed")
            elif name not in old:
                problems.append(f"{label} {name} added")
            elif old[name] != new[name]:
                problems.append(f"{label} {name} changed")
    return problems


def seal_state(entries: Sequence[Entry]) -> SealState:
    """Replay one month's entries (in seq order) into its sign-off state."""
    status, preparer, reviewer, latest = "open", None, None, None
    after: list[Entry] = []
    pending: list[Entry] = []  # waivers not yet followed by the preparer's seal
    waivers: tuple[Entry, ...] = ()
    issued: list[Entry] = []
    for entry in entries:
        if entry.entry_type == "signoff":
            latest, after, issued = entry, [], []
            if entry.payload.get("role") == "preparer":
                status, preparer, reviewer = "prepared", entry, None
                waivers, pending = tuple(pending), []
            else:
                status, reviewer = "signed", entry
        elif entry.entry_type == "waiver":
            pending.append(entry)
        elif entry.entry_type == "issued" and latest is not None:
            issued.append(entry)
        # a new decision or mapping change (or a reopen on purpose) reopens a seal; "apply"
        # entries carry out decisions it covers
        elif entry.entry_type in ("decision", "mapping", "reopen") and latest is not None:
            after.append(entry)
            status, preparer, reviewer, waivers = "reopened", None, None, ()
    return SealState(status, preparer, reviewer, latest, tuple(after), waivers, tuple(issued))


def month_state(workspace: Workspace, period: Period) -> SealState:
    """The month's sign-off state read from the workspace's ledger (open without a ledger)."""
    if not workspace.ledger_path.exists():
        return seal_state([])
    with Ledger(workspace.ledger_path) as ledger:
        return seal_state(ledger.entries(period))


def status(workspace: Workspace, period: Period) -> str:
    """``"open"``, ``"prepared"``, ``"signed"`` or ``"reopened"`` for one month."""
    return month_state(workspace, period).status


def _sealed_prints(entry: Entry) -> dict[str, Any]:
    return {g: entry.payload.get(g) or {} for g in GROUPS}


def _refusal(
    state: SealState, role: str, name: str, prints: dict[str, dict[str, str]], period: Period
) -> str | None:
    latest = state.latest_seal
    unchanged = latest is not None and not diff_prints(_sealed_prints(latest), prints)
    if role == "preparer":
        if state.status == "prepared" and unchanged:
            who = state.preparer.payload.get("name") if state.preparer else "?"
            return f"{period} is already signed by preparer {who} and nothing changed since"
        if state.status == "signed" and unchanged:
            return f"{period} is already signed off and nothing changed since"
        if (
            state.status == "reopened"
            and latest is not None
            and not diff_prints(
                {"report": latest.payload.get("report") or {}}, {"report": prints["report"]}
            )
        ):
            return (
                f"decisions were recorded after the last sign-off of {period} (entry seq "
                f"{state.after_seal[0].seq}); re-render the report (`recon report --period "
                f"{period}`) before signing again"
            )
        return None
    if state.status == "open":
        return f"no preparer sign-off for {period} yet: the preparer signs first"
    if state.status == "reopened":
        return (
            f"{period} was reopened by a decision after the last sign-off (entry seq "
            f"{state.after_seal[0].seq}); the preparer signs the re-rendered report first"
        )
    if state.status == "signed":
        who = state.reviewer.payload.get("name") if state.reviewer else "?"
        return f"{period} is already signed off by reviewer {who}"
    assert state.preparer is not None
    prepared_by = str(state.preparer.payload.get("name", ""))
    if prepared_by.strip().casefold() == name.casefold():
        return f"the reviewer must be someone other than the preparer ({prepared_by})"
    changes = diff_prints(_sealed_prints(state.preparer), prints)
    if changes:
        return (
            f"the report or its inputs changed since the preparer signed ({'; '.join(changes)}); "
            "re-render and have the preparer sign again"
        )
    return None


def _seal_document(period: Period, state: SealState, entry: Entry) -> dict[str, Any]:
    signers = [e for e in (state.preparer, state.reviewer) if e is not None]
    return {
        "period": str(period),
        "status": state.status,
        "signoffs": [
            {
                "role": e.payload.get("role"),
                "name": e.payload.get("name"),
                "ts": e.ts,
                "seq": e.seq,
                "hash": e.hash,
            }
            for e in signers
        ],
        "waivers": [
            {"reason": w.payload.get("reason"), "summary": w.payload.get("summary"),
             "items": len(w.payload.get("items") or ()), "seq": w.seq, "hash": w.hash}
            for w in state.waivers
        ],
        "seal": {"seq": entry.seq, "hash": entry.hash, **entry.payload},
    }


def seal(
    workspace: Workspace,
    period: Period,
    role: str,
    name: str,
    ledger: Ledger | None = None,
    *,
    waive: str | None = None,
    readiness_of: Callable[[Workspace, Period], Readiness] | None = None,
) -> dict[str, Any]:
    """Sign off the rendered report of a month as preparer or reviewer.

    Args:
        workspace: the workspace.
        period: the month.
        role: ``"preparer"`` (first) or ``"reviewer"`` (second, a different name).
        name: who signs.
        ledger: an open ledger (default: the workspace's).
        waive: the preparer's reason for signing over what is unsettled; every item is
            recorded in a ``waiver`` entry just before the seal.
        readiness_of: lists what is unsettled (default: reconcile the month as it stands).

    Returns:
        The seal document written to ``reports/<period>/signoff.json``.

    Raises:
        NotReady: the preparer signs a month with unsettled items and no ``waive``.
        SignoffError: no rendered report, wrong order, the same person, already signed, or a
            reviewer giving a waiver.
        LedgerError: the ledger is locked or damaged.
    """
    if role not in ROLES:
        raise SignoffError(f"role {role!r} must be preparer or reviewer")
    name = (name or "").strip()
    if not name:
        raise SignoffError("a sign-off needs the signer's name")
    waive = (waive or "").strip() or None
    if waive and role != "preparer":
        raise SignoffError("only the preparer signs over unsettled items (--waive); the "
                           "reviewer signs what the preparer sealed, waivers included")
    own = ledger is None
    book = Ledger(workspace.ledger_path) if ledger is None else ledger
    try:
        prints = fingerprint(workspace, period)
        if not any(p.endswith(_REPORT_SUFFIXES) for p in prints["report"]):
            raise SignoffError(
                f"no rendered report for {period} in {workspace.report_dir(period)}; "
                f"run `recon report --period {period}` first"
            )
        refusal = _refusal(seal_state(book.entries(period)), role, name, prints, period)
        if refusal:
            raise SignoffError(refusal)  # before reconciling: the order is checked first
        to_waive: list[dict[str, str]] = []
        if role == "preparer":
            ready = (readiness_of or month_readiness)(workspace, period)
            if not ready.clear and not waive:
                raise NotReady(ready)
            to_waive = [item.as_dict() for item in ready.items]
        for _ in range(5):
            state = seal_state(book.entries(period))
            refusal = _refusal(state, role, name, prints, period)
            if refusal:
                raise SignoffError(refusal)
            head = book.head()
            try:
                if to_waive:
                    waiver = book.append(
                        "waiver", period, "waiver:preparer",
                        {"reason": waive, "summary": ready.summary(), "items": to_waive},
                        name, expect_head=head)
                    head, to_waive = waiver.hash, []  # written once, even if the seal retries
                payload = {"role": role, "name": name, "ledger_head": head, **prints}
                entry = book.append(
                    "signoff", period, f"signoff:{role}", payload, name, expect_head=head
                )
                break
            except LedgerConflict:
                continue  # another process appended in between; re-check and retry
        else:
            raise LedgerError(f"ledger {book.path} kept changing while signing; try again")
        document = _seal_document(period, seal_state(book.entries(period)), entry)
        atomic_write_text(
            workspace.report_dir(period) / SEAL_FILE,
            json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        )
        return document
    finally:
        if own:
            book.close()


def guard_sealed(workspace: Workspace, period: Period, what: str) -> None:
    """Refuse to change a prepared or signed month's sealed report set.

    Raises:
        SealedError: names the signers and how to reopen the month.
    """
    state = month_state(workspace, period)
    if state.status not in ("prepared", "signed"):
        return
    who = ", ".join(f"{e.payload.get('role')} {e.payload.get('name')}"
                    for e in (state.preparer, state.reviewer) if e is not None)
    raise SealedError(
        f"{period} is {state.status} ({who}): {what} would change its sealed report and "
        f"break the seal. To change the month, reopen it: record a decision (`recon resolve`), "
        f"or re-render on purpose with `recon report --period {period} --reopen REASON`; "
        "then the preparer and the reviewer sign again.")


def reopen(workspace: Workspace, period: Period, reason: str, actor: str) -> Entry | None:
    """Reopen a prepared or signed month on purpose (a ``reopen`` entry); None when open."""
    reason = (reason or "").strip()
    if not reason:
        raise SignoffError("reopening a signed month needs a reason (--reopen REASON)")
    if month_state(workspace, period).status not in ("prepared", "signed"):
        return None
    with Ledger(workspace.ledger_path) as book:
        return book.append("reopen", period, "reopen", {"reason": reason}, actor)


def record_issued(workspace: Workspace, period: Period, paths: Sequence[Path],
                  actor: str) -> Entry | None:
    """Record files written into a prepared or signed month's report folder after its seal
    (a client statement) with their sha256, so ``verify`` accepts them; None when open."""
    if month_state(workspace, period).status not in ("prepared", "signed"):
        return None
    folder = workspace.report_dir(period)
    files = {Path(p).relative_to(folder).as_posix(): sha256_file(p) for p in paths}
    with Ledger(workspace.ledger_path) as book:
        return book.append("issued", period, "issued:" + ",".join(sorted(files)),
                           {"files": files}, actor)


def read_seal(workspace: Workspace, period: Period) -> dict[str, Any] | None:
    """The ``signoff.json`` beside the report, or None when there is none.

    Raises:
        LedgerError: the file exists but is not a seal document.
    """
    path = workspace.report_dir(period) / SEAL_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or not isinstance(document.get("seal"), dict):
            raise ValueError("no seal object")
    except ValueError as exc:
        raise LedgerError(f"{path} is not a valid sign-off file: {exc}") from exc
    return document


def _ledger_view(path: Path) -> tuple[list[str], list[Entry] | None]:
    if not path.exists():
        return [f"ledger {path} is missing"], None
    try:
        with Ledger(path) as ledger:
            problems = [p if p.startswith("ledger ") else f"ledger {p}" for p in ledger.verify()]
            try:
                return problems, ledger.entries()
            except LedgerError as exc:
                return [*problems, *([] if str(exc) in problems else [str(exc)])], None
    except LedgerError as exc:
        return [str(exc)], None


def _unanchored(kept: Sequence[str], month: list[Entry], period: Period) -> list[str]:
    """A problem for each kept seal hash that is not a sign-off of the month in the ledger."""
    seals = {e.hash for e in month if e.entry_type == "signoff"}
    return [f"the kept seal hash {h} is not a sign-off of {period} in the ledger: the ledger "
            "was rewritten, or the hash is of another month or workspace"
            for h in dict.fromkeys(k.strip().lower() for k in kept) if h not in seals]


def verify(workspace: Workspace, period: Period, kept_seals: Sequence[str] = ()) -> list[str]:
    """Recompute every hash of the month's latest seal and check the ledger chain.

    Args:
        kept_seals: seal hashes kept outside the workspace (``recon signoff`` prints them).
            Each must still be a sign-off of ``period`` in the ledger: the anchor that
            detects a ledger and ``signoff.json`` rewritten together, consistently.

    Returns:
        What changed, e.g. ``"report file report.html changed"``, ``"input file x.csv
        added"``, ``"mapping clients.csv changed"``, ``"ledger entry seq 3 was edited"``,
        ``"the ledger chain no longer reaches the sealed head"``, ``"decision recorded after
        sign-off: the month was reopened (...)"``; an empty list when everything is intact.
    """
    if not workspace.ledger_path.exists() and not (
            workspace.report_dir(period) / SEAL_FILE).exists():
        return [not_signed(period)]  # nothing was ever recorded: nothing to verify
    problems, entries = _ledger_view(workspace.ledger_path)
    try:
        document = read_seal(workspace, period)
    except LedgerError as exc:
        problems.append(str(exc))
        document = None
    file_seal = document["seal"] if document else None
    month = [e for e in entries or [] if e.period == str(period)]
    state = seal_state(month)
    sealed: dict[str, Any] | None = None
    seal_seq, from_ledger = 0, state.latest_seal is not None
    if state.latest_seal is not None:
        sealed, seal_seq = {**state.latest_seal.payload}, state.latest_seal.seq
    if entries is not None and file_seal is not None:
        hashes = {e.hash for e in entries}
        seq = file_seal.get("seq")
        if file_seal.get("hash") not in hashes:
            problems.append(
                f"sign-off entry seq {seq} recorded in {SEAL_FILE} is missing from the ledger"
            )
            if sealed is None or (isinstance(seq, int) and seq > seal_seq):
                sealed, seal_seq = file_seal, seq if isinstance(seq, int) else 0
                from_ledger = False
        elif state.latest_seal is not None and file_seal.get("hash") != state.latest_seal.hash:
            problems.append(
                f"{SEAL_FILE} is out of date: the latest sign-off is entry seq {seal_seq}"
            )
    elif file_seal is not None:
        sealed = file_seal  # the ledger is unreadable; still name the files that changed
    problems += _unanchored(kept_seals, month, period)
    if sealed is None:
        return [*problems, not_signed(period)]
    if entries is not None:
        head = sealed.get("ledger_head")
        by_hash = {e.hash: e for e in entries}
        linked = not from_ledger or state.latest_seal.prev_hash == head  # type: ignore[union-attr]
        if (head != GENESIS and head not in by_hash) or not linked:
            problems.append("the ledger chain no longer reaches the sealed head")
        for kind in ("decision", "mapping", "reopen"):
            later = [e for e in month if e.entry_type == kind and e.seq > seal_seq]
            if later:
                shown = ", ".join(f"seq {e.seq} on {e.key}" for e in later[:3])
                more = f" and {len(later) - 3} more" if len(later) > 3 else ""
                what = {"decision": "decision", "mapping": "mapping change",
                        "reopen": "reopen"}[kind]
                problems.append(
                    f"{what} recorded after sign-off: the month was reopened ({shown}{more})"
                )
    current = fingerprint(workspace, period)
    # a statement issued after the seal is accepted at the hash its ledger entry recorded
    issued = {rel: h for e in state.issued for rel, h in (e.payload.get("files") or {}).items()
              if current["report"].get(rel) == h}
    sealed = {**sealed, "report": {**(sealed.get("report") or {}), **issued}}
    return diff_prints(sealed, current) + problems


def not_signed(period: Period) -> str:
    """The one problem :func:`verify` gives for a month that was never signed."""
    return f"{period} is not signed: no sign-off recorded in the ledger"
