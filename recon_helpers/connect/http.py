"""The HTTP client every source shares (httpx): timeouts, retries, 429, auth, the request log.

One :class:`ApiClient` per API host. Each call:

* has a timeout (connect, read, write, pool);
* sends credentials only to the client's own origin (scheme, host, port): a link to another
  host is refused before anything is sent (:meth:`ApiClient.check_origin`);
* on 429 waits as ``Retry-After`` says (seconds or an HTTP-date; without it capped exponential
  backoff with jitter) and tries again, up to :attr:`RetryPolicy.throttled` times;
* on 500/502/503/504, a timeout or a broken connection retries with backoff, but only when the
  request is idempotent (reads; a write that may have reached the server is never re-sent;
  a refused connection is retried for any method, since nothing was sent);
* on 401 with a token credential fetches one new token and replays the request once;
* on any other 4xx raises :class:`ApiError` naming the source, the endpoint and the status,
  and for 401/403 the credential or permission to check;
* checks the body: a JSON endpoint must answer a JSON content type and a complete JSON
  document; anything else is an error, never a partial file.

Every attempt is recorded in the shared :class:`RequestLog` (redacted) for ``pull-log.json``.

Example:
    >>> api = ApiClient("huntress", "https://api.huntress.io/v1", StaticAuth({...}), ctx)
    >>> api.request("GET", "/organizations", params={"limit": 500}).json()
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx

from recon_helpers.connect.redact import Redactor
from recon_helpers.connect.timing import Clock, RateLimit, RetryPolicy, retry_after
from recon_helpers.core.errors import ApiError

Expect = Literal["json", "empty", "bytes"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUS = frozenset({500, 502, 503, 504})
USER_AGENT = "recon-helpers (recon pull)"


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the unit credentials are scoped to."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class StaticAuth:
    """Fixed credential headers (API keys, Basic); no refresh."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def headers(self) -> dict[str, str]:
        """Headers to send with an authenticated call."""
        return dict(self._headers)

    def refresh(self) -> bool:
        """Nothing to refresh: a 401 is final."""
        return False


class TokenAuth:
    """A bearer token fetched on first use and once more after a 401 (OAuth client credentials).

    ``fetch`` returns the access token; it is registered with the redactor by the caller.
    """

    def __init__(self, fetch: Callable[[], str]) -> None:
        self._fetch = fetch
        self._token: str | None = None
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer <token>``, fetching the token the first time."""
        with self._lock:
            if self._token is None:
                self._token = self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> bool:
        """Drop the token so the next call fetches a new one."""
        with self._lock:
            self._token = None
        return True


@dataclass
class RequestLog:
    """Every request attempt of one pull, redacted, in order (thread-safe)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry; returns it so the caller can add the saved file later."""
        with self._lock:
            self.entries.append(entry)
        return entry


@dataclass(frozen=True)
class Session:
    """What the clients of one pull share: clock, retry policy, timeouts, log, redactor."""

    clock: Clock = field(default_factory=Clock)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: httpx.Timeout = field(
        default_factory=lambda: httpx.Timeout(60.0, connect=15.0, pool=30.0)
    )
    log: RequestLog = field(default_factory=RequestLog)
    redactor: Redactor = field(default_factory=Redactor)
    transport: httpx.BaseTransport | None = None


@dataclass
class ApiResponse:
    """A checked response: status, headers, the exact body bytes, and its log entry."""

    status: int
    url: str
    headers: httpx.Headers
    content: bytes
    entry: dict[str, Any]
    raw: httpx.Response
    _doc: Any = None

    def json(self) -> Any:
        """The body parsed (already known to be valid JSON for a JSON endpoint)."""
        if self._doc is None:
            self._doc = json.loads(self.content)
        return self._doc

    @property
    def next_link(self) -> str | None:
        """The ``Link: <...>; rel="next"`` target, if any."""
        link = self.raw.links.get("next", {}).get("url")
        return str(link) if link else None


class ApiClient:
    """Requests to one API base URL for one source (see the module docstring)."""

    def __init__(
        self,
        source: str,
        base_url: str,
        auth: StaticAuth | TokenAuth | None,
        session: Session,
        *,
        concurrency: int = 4,
        rate: RateLimit | None = None,
        hints: Mapping[int, str] | None = None,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.session = session
        self.rate = rate
        self.hints = dict(hints or {})
        self._slots = threading.BoundedSemaphore(concurrency)
        # retries=1: httpcore re-dials a refused connection at once (no wait); every other
        # retry is ours below, with the injected clock
        transport = session.transport or httpx.HTTPTransport(retries=1)
        self._http = httpx.Client(
            transport=transport, timeout=session.timeout, follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def resolve(self, url: str) -> str:
        """An absolute URL: a path is joined to the base URL."""
        if urlsplit(url).scheme:
            return url
        return self.base_url + "/" + url.lstrip("/") if url else self.base_url

    def endpoint(self, url: str) -> str:
        """The path of a URL, as error messages and the log name it."""
        return urlsplit(self.resolve(url)).path or "/"

    def check_origin(self, url: str) -> None:
        """Refuse a URL on another scheme, host or port than the base URL (before sending).

        Raises:
            ApiError: the URL points elsewhere; nothing was sent there.
        """
        if origin(self.resolve(url)) != origin(self.base_url):
            shown = self.session.redactor.url(url)
            host = urlsplit(url).netloc or url
            raise ApiError(
                self.source, self.endpoint(url),
                f"the API pointed to another host ({host}: {shown}); refused, and no "
                f"credentials were sent there (expected {urlsplit(self.base_url).netloc})",
            )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        expect: Expect = "json",
        idempotent: bool | None = None,
    ) -> ApiResponse:
        """Send one request with the retry rules of the module docstring.

        Args:
            idempotent: whether re-sending is safe (default: GET, HEAD, OPTIONS only; a POST
                that only reads, such as an Autotask query, passes True).

        Raises:
            ApiError: the call failed for good (names source, endpoint, status and why).
        """
        target = self.resolve(url)
        if authenticated:
            self.check_origin(target)
        idem = method.upper() in SAFE_METHODS if idempotent is None else idempotent
        failures = throttles = 0
        refreshed = False
        while True:
            entry = self._entry(method, target, params, json_body or form,
                                failures + throttles + 1)
            sent = {**(self.auth.headers() if authenticated and self.auth else {}),
                    **(headers or {})}
            try:
                if self.rate is not None:
                    self.rate.acquire()
                with self._slots:
                    resp = self._http.request(method, target, params=params, json=json_body,
                                              data=form, headers=sent)
            except httpx.TransportError as exc:
                failures += 1
                self._after_transport_error(exc, entry, target, failures, idem)
                continue
            entry.update(status=resp.status_code, bytes=len(resp.content))
            self.session.log.add(entry)
            status = resp.status_code
            if status == 401 and authenticated and not refreshed and self.auth is not None:
                refreshed = True
                if self.auth.refresh():
                    continue
            if status == 429:
                throttles += 1
                self._wait_throttled(resp, target, throttles)
                continue
            if status in RETRY_STATUS and idem and failures + 1 < self.session.policy.attempts:
                failures += 1
                self.session.clock.sleep(self.session.policy.delay(failures))
                continue
            if status >= 300:
                raise self._status_error(resp, target, failures + 1)
            return ApiResponse(status, self.session.redactor.url(target), resp.headers,
                               self._checked(resp, target, expect), entry, resp)

    def _entry(
        self, method: str, url: str, params: Mapping[str, Any] | None, body: Any, attempt: int
    ) -> dict[str, Any]:
        red = self.session.redactor
        entry: dict[str, Any] = {
            "source": self.source,
            "method": method.upper(),
            "endpoint": self.endpoint(url),
            "url": red.url(url),
            "params": red.value(dict(params or {})),
            "time": self.session.clock.now().isoformat(timespec="seconds"),
            "status": None,
            "bytes": 0,
            "sha256": None,
            "file": None,
        }
        if body is not None:
            entry["body"] = red.value(body)
        if attempt > 1:
            entry["attempt"] = attempt
        return entry

    def _after_transport_error(self, exc: httpx.TransportError, entry: dict[str, Any],
                               url: str, failures: int, idempotent: bool) -> None:
        """Log a failed attempt, then wait to retry it, or raise when it must not be retried.

        A refused connection sent nothing, so it is retried for any method; a timeout or a
        broken response may have reached the server, so only idempotent requests are.
        """
        problem = _transport_problem(exc, self.session.timeout)
        entry["error"] = problem
        self.session.log.add(entry)
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        if (idempotent or unsent) and failures < self.session.policy.attempts:
            self.session.clock.sleep(self.session.policy.delay(failures))
            return
        raise ApiError(self.source, self.endpoint(url),
                       f"{problem} (after {failures} attempt(s))") from None

    def _wait_throttled(self, resp: httpx.Response, url: str, throttles: int) -> None:
        policy = self.session.policy
        if throttles >= policy.throttled:
            raise ApiError(self.source, self.endpoint(url),
                           f"still rate-limited (429) after {throttles} attempts; try later",
                           status=429)
        told = retry_after(resp.headers.get("Retry-After"), self.session.clock.now())
        wait = told if told is not None else policy.delay(throttles)
        if wait > policy.max_wait:
            raise ApiError(self.source, self.endpoint(url),
                           f"rate-limited: the server asks to wait {wait:.0f} s, longer than "
                           f"{policy.max_wait:.0f} s; try later", status=429)
        self.session.clock.sleep(wait)

    def _status_error(self, resp: httpx.Response, url: str, attempts: int) -> ApiError:
        status = resp.status_code
        if 300 <= status < 400:
            where = self.session.redactor.url(resp.headers.get("Location", "?"))
            problem = f"redirected to {where}; redirects are not followed (check base_url)"
        elif status >= 500:
            problem = f"the server failed (after {attempts} attempt(s))"
        else:
            problem = self.hints.get(status) or {
                401: "authentication failed: check the credentials",
                403: "permission denied: the API user lacks a permission",
                404: "not found: check base_url and the account",
            }.get(status, "the request was refused")
        detail = _error_detail(resp.content, self.session.redactor)
        return ApiError(self.source, self.endpoint(url),
                        problem + (f"; the server said: {detail}" if detail else ""), status)

    def _checked(self, resp: httpx.Response, url: str, expect: Expect) -> bytes:
        content = resp.content
        if expect != "json":
            return content
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not (ctype in ("application/json", "text/json") or ctype.endswith("+json")):
            raise ApiError(self.source, self.endpoint(url),
                           f"answered {ctype or 'no content type'} instead of JSON "
                           "(a login page or a proxy in between?); nothing was saved",
                           resp.status_code)
        try:
            json.loads(content)
        except (ValueError, RecursionError) as exc:
            raise ApiError(self.source, self.endpoint(url),
                           f"the body is not complete, valid JSON ({exc}); nothing was saved",
                           resp.status_code) from None
        return content


def _transport_problem(exc: httpx.TransportError, timeout: httpx.Timeout) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within the timeout ({timeout.read:g} s read, {timeout.connect:g} s " \
               "connect)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection closed before the whole response arrived (truncated body)"
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect (check base_url and the network)"
    return f"connection failed ({type(exc).__name__})"


def _error_detail(content: bytes, redactor: Redactor, limit: int = 200) -> str:
    """A short, redacted excerpt of an error body's message (JSON message fields or text)."""
    text = content[:4000].decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        inner = doc.get("error")
        picks = [doc.get(k) for k in ("message", "Message", "error_description", "detail")]
        if isinstance(inner, dict):
            picks.append(inner.get("message"))
        elif isinstance(inner, str):
            picks.append(inner)
        errors = doc.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            picks.append(first.get("detail") or first.get("message") if isinstance(first, dict)
                         else str(first))
        text = "; ".join(str(p) for p in picks if p) or text
    text = " ".join(text.split())
    return redactor.text(text[:limit])


def join_url(base: str, link: str) -> str:
    """A next link made absolute against the URL it came from."""
    return urljoin(base, link)
