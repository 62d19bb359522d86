"""A local fake of the vendor APIs: a stdlib HTTP server on 127.0.0.1 with scripted answers.

Routes are keyed by (method, path); each holds a queue of :class:`Reply` (or a callable making
one from the request). A request nobody scripted, or one more than scripted, gets 599 with a
loud message, so a test fails on any call it did not expect. Every request is recorded
(method, path, query, headers, body) for the test to assert exactly what was sent.

Bodies may hold ``{base}``: it is replaced by the server's own URL when served (next links).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

API_FIXTURES = Path(__file__).parent / "fixtures" / "api"


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = b""  # bytes, str, or a JSON-ready value (dumped)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    hold: threading.Event | None = None  # wait for it before answering (a timeout)
    truncate: int | None = None  # send only this many body bytes, announce all, then close


@dataclass
class Seen:
    """A recorded request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    target: str

    def json(self) -> Any:
        return json.loads(self.body)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class FakeApi:
    """The server's routing table and request record."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], deque[Reply | Callable[[Seen], Reply]]] = {}
        self.requests: list[Seen] = []
        self.base = ""
        self.holds: list[threading.Event] = []
        # answers requests no route is scripted for (a stateful fake PSA: tests/fake_psa.py)
        self.fallback: Callable[[Seen], Reply] | None = None
        self._lock = threading.Lock()

    def add(self, method: str, path: str, *replies: Reply | Callable[[Seen], Reply]) -> None:
        """Queue answers for (method, path)."""
        self.routes.setdefault((method, path), deque()).extend(replies)

    def json(self, method: str, path: str, *docs: Any, **kw: Any) -> None:
        """Queue JSON answers (status 200 unless given)."""
        self.add(method, path, *(Reply(body=d, **kw) for d in docs))

    def hold(self) -> threading.Event:
        """An event a reply waits on; released at teardown."""
        event = threading.Event()
        self.holds.append(event)
        return event

    def calls(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        return [r for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)]

    def unanswered(self) -> list[tuple[str, str]]:
        return [k for k, q in self.routes.items() if q]

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            queue = self.routes.get((seen.method, seen.path))
            fallback = self.fallback
            reply = queue.popleft() if queue else None
        if reply is None:
            if fallback is None:
                return Reply(599, {"fake": f"unexpected {seen.method} {seen.target}"})
            return fallback(seen)
        return reply(seen) if callable(reply) else reply


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            seen = Seen(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                        {k.lower(): v for k, v in self.headers.items()}, body, self.path)
            reply = api._next(seen)
            if reply.hold is not None:
                reply.hold.wait(30)
            data = reply.body
            if not isinstance(data, bytes | str):
                data = json.dumps(data)
            if isinstance(data, str):
                data = data.replace("{base}", api.base).encode()
            try:
                self.send_response(reply.status)
                if reply.content_type:
                    self.send_header("Content-Type", reply.content_type)
                for k, v in reply.headers.items():
                    self.send_header(k, v.replace("{base}", api.base))
                self.send_header("Content-Length", str(len(data)))
                if reply.truncate is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data if reply.truncate is None else data[:reply.truncate])
                self.wfile.flush()
                if reply.truncate is not None:
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """A running fake API server on 127.0.0.1 (a free port); stopped at teardown."""
    with running_api() as api:
        yield api


@contextmanager
def running_api() -> Iterator[FakeApi]:
    """The fake API server for the duration of a block (the ``fake_api`` fixture's body)."""
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        for event in api.holds:
            event.set()
        server.shutdown()
        server.server_close()


def fixture(vendor: str, name: str) -> Any:
    """A JSON fixture under tests/fixtures/api/<vendor>/ (``{base}`` left for the server)."""
    return (API_FIXTURES / vendor / name).read_text(encoding="utf-8")


class FakeClock:
    """An injected clock: sleeping only records the wait and moves time on."""

    def __init__(self) -> None:
        from datetime import UTC, datetime

        self.t = 1000.0
        self.start = datetime(2026, 11, 9, 8, 30, tzinfo=UTC)
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.t

    def now(self):  # type: ignore[no-untyped-def]
        from datetime import timedelta

        return self.start + timedelta(seconds=self.t - 1000.0)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.t += max(0.0, seconds)
