"""What a source declares (:class:`SourceSpec`) and what its ``pull`` gets (:class:`PullContext`).

A source module defines ``SPEC`` and ``pull(ctx)``. ``pull`` makes its requests through
``ctx.client(...)`` and hands each page to :meth:`PullContext.save`, which writes the exact
bytes received into the pull's staging folder (never the month folder itself) and records the
file against its request in the log. A page without records is not saved (no loader can
recognise an empty list); its request stays in the log.

Files no loader reads yet (invoice headers, Pax8 subscriptions, Autotask invoices and billing
items) are saved under ``not-loaded/``: a folder the loader passes over (it reads only the files
of the month folder itself), still covered by the seal.

Example:
    >>> def pull(ctx: PullContext) -> None:
    ...     api = ctx.client(ctx.setting("base_url", DEFAULT), StaticAuth({...}))
    ...     for page in walk(api, PageRequest("GET", "/organizations"), token_next(...)):
    ...         ctx.save("organizations", page, len(records(page, ("organizations",))))
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from recon_helpers.connect.http import ApiClient, ApiResponse, Session, StaticAuth, TokenAuth
from recon_helpers.connect.secrets import Credentials
from recon_helpers.connect.timing import RateLimit
from recon_helpers.core.errors import ApiError
from recon_helpers.core.period import Period

NOT_LOADED = "not-loaded"
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class SourceSpec:
    """A pull source: its name, file prefix, required settings and its pull function."""

    name: str
    prefix: str  # every file it saves starts with "<prefix>-"
    pull: Callable[[PullContext], None]
    required: tuple[str, ...] = ()  # [pull.<name>] keys without a documented default
    rate: tuple[int, float] | None = None  # (requests, seconds) the API documents
    concurrency: int = 4  # parallel requests within the API's documented limits


class Progress:
    """Pages and records fetched for one source (a tqdm bar on stderr, or nothing)."""

    def __init__(self, source: str, enabled: bool) -> None:
        self.pages = 0
        self.items = 0
        self._lock = threading.Lock()
        self._bar = None
        if enabled:
            self._bar = tqdm(desc=source, unit=" pages", file=sys.stderr, leave=True)

    def update(self, items: int) -> None:
        """One more page with ``items`` records."""
        with self._lock:
            self.pages += 1
            self.items += items
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix(items=self.items, refresh=False)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()


@dataclass
class PullContext:
    """One source's pull: the month, its settings and secrets, clients, and the saver."""

    spec: SourceSpec
    period: Period
    first: date  # first day of the month
    last: date  # last day
    settings: Mapping[str, str]
    creds: Credentials
    session: Session
    staging: Path
    progress: Progress
    files: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: list[ApiClient] = field(default_factory=list)

    @property
    def source(self) -> str:
        """The source name."""
        return self.spec.name

    def setting(self, key: str, default: str) -> str:
        """A ``[pull.<source>]`` value, else the documented default."""
        return self.settings.get(key) or default

    def secret(self, name: str) -> str:
        """One credential value (registered with the redactor when read)."""
        value = self.creds[name]
        self.session.redactor.add(value)
        return value

    def client(self, base_url: str, auth: StaticAuth | TokenAuth | None,
               hints: Mapping[int, str] | None = None) -> ApiClient:
        """An API client on ``base_url`` with this source's limits."""
        rate = RateLimit(*self.spec.rate, self.session.clock) if self.spec.rate else None
        api = ApiClient(self.source, base_url, auth, self.session,
                        concurrency=self.spec.concurrency, rate=rate, hints=hints)
        self._clients.append(api)
        return api

    def close(self) -> None:
        """Close every client and the progress bar."""
        for api in self._clients:
            api.close()
        self.progress.close()

    def save(self, name: str, page: ApiResponse, count: int, *, folder: str = "",
             suffix: str = ".json") -> str | None:
        """Write a page's exact bytes as ``<prefix>-<name><suffix>`` (under ``folder``).

        Returns:
            The file's path relative to the month folder, or None for a page without
            records (not saved; its request stays in the log, noted as empty).

        Raises:
            ApiError: two pages would get the same file name (a source bug, never silent).
        """
        self.progress.update(count)
        if count == 0:
            page.entry["note"] = "no records: nothing saved"
            return None
        rel = f"{self.spec.prefix}-{safe_name(name)}{suffix}"
        rel = f"{folder}/{rel}" if folder else rel
        with self._lock:
            if rel in self._names:
                raise ApiError(self.source, page.entry["endpoint"],
                               f"two pages would both be saved as {rel}")
            self._names.add(rel)
        path = self.staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page.content)
        digest = hashlib.sha256(page.content).hexdigest()
        page.entry.update(sha256=digest, file=rel)
        record = {"file": rel, "source": self.source, "bytes": len(page.content),
                  "sha256": digest, "pulled_at": page.entry["time"], "records": count}
        with self._lock:
            self.files.append(record)
        return rel

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``func`` over ``items`` on at most ``spec.concurrency`` threads, results in order."""
        items = list(items)
        if len(items) <= 1 or self.spec.concurrency <= 1:
            return [func(i) for i in items]
        with ThreadPoolExecutor(max_workers=self.spec.concurrency) as pool:
            return list(pool.map(func, items))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file-name-safe form of text from an API (ids, blob names): no separators, no dots first."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "x"
    return cleaned[:150]


def chunks(items: list[T], size: int) -> list[list[T]]:
    """``items`` in consecutive lists of at most ``size``."""
    return [items[i:i + size] for i in range(0, len(items), size)]
