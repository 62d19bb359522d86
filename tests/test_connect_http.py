"""The shared HTTP client against the fake server: paging, 429, 5xx, timeouts, 401, broken
bodies, foreign next links, loop guard; and exactly the calls needed, no more."""

from __future__ import annotations

from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.connect.http import ApiClient, Session, StaticAuth, TokenAuth
from recon_helpers.connect.paging import PageRequest, link_header_next, token_next, walk
from recon_helpers.connect.redact import Redactor
from recon_helpers.connect.timing import Clock, RateLimit, RetryPolicy, retry_after
from recon_helpers.core.errors import ApiError
from tests.fake_api import FakeApi, FakeClock, Reply, Seen

KEY = "sk-live-0a1b2c3d4e"


def client(api: FakeApi, clock: FakeClock, *, auth=None, attempts: int = 5,  # type: ignore[no-untyped-def]
           throttled: int = 8, read: float = 2.0, hints=None) -> ApiClient:
    session = Session(clock=clock, timeout=httpx.Timeout(read, connect=2.0),
                      policy=RetryPolicy(attempts=attempts, throttled=throttled,
                                         jitter=lambda: 0.5))
    session.redactor.add(KEY)
    return ApiClient("vendor", api.base + "/v1", auth or StaticAuth({"X-Api-Key": KEY}),
                     session, hints=hints)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_link_paging_keeps_the_query_and_stops_at_the_last_page(fake_api, clock) -> None:
    def page(n: int, last: bool):  # type: ignore[no-untyped-def]
        def reply(seen: Seen) -> Reply:
            nxt = seen.target.replace(f"page={n}", f"page={n + 1}")
            link = {} if last else {"Link": f'<{{base}}{nxt}>; rel="next"'}
            return Reply(body=[{"id": n}], headers=link)
        return reply

    fake_api.add("GET", "/v1/items", page(1, False), page(2, False), page(3, True))
    api = client(fake_api, clock)
    first = PageRequest("GET", "/items", {"page": 1, "conditions": 'status="Active"'})
    pages = [p.json() for p in walk(api, first, link_header_next)]
    assert pages == [[{"id": 1}], [{"id": 2}], [{"id": 3}]]
    calls = fake_api.calls()
    assert [c.param("page") for c in calls] == ["1", "2", "3"]
    assert {c.param("conditions") for c in calls} == {'status="Active"'}
    assert {c.headers["x-api-key"] for c in calls} == {KEY}
    assert clock.waits == []


def test_429_retry_after_seconds_date_and_absent(fake_api, clock) -> None:
    later = format_datetime(clock.now() + __import__("datetime").timedelta(seconds=7), usegmt=True)
    fake_api.add("GET", "/v1/x", Reply(429, {}, headers={"Retry-After": "2"}),
                 Reply(429, {}, headers={"Retry-After": later}), Reply(429, {}),
                 Reply(body={"ok": True}))
    page = client(fake_api, clock).request("GET", "/x")
    assert page.json() == {"ok": True}
    # 2 s as told; 7 s to the HTTP-date (the clock moved 2 s meanwhile: 5 s); no header:
    # capped exponential backoff (3rd throttle: 1 s x 2^2, equal jitter 0.75 -> 3 s)
    assert clock.waits == [2.0, 5.0, 3.0]
    assert len(fake_api.calls()) == 4


def test_429_gives_up_after_the_cap_and_on_a_too_long_wait(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/x", *[Reply(429, {}, headers={"Retry-After": "1"})] * 3)
    with pytest.raises(ApiError, match=r"vendor: /v1/x \(HTTP 429\): still rate-limited"):
        client(fake_api, clock, throttled=3).request("GET", "/x")
    assert len(fake_api.calls()) == 3
    fake_api.add("GET", "/v1/y", Reply(429, {}, headers={"Retry-After": "3600"}))
    with pytest.raises(ApiError, match="asks to wait 3600 s"):
        client(fake_api, clock).request("GET", "/y")


def test_500_then_success_with_backoff(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/x", Reply(500, {"message": "boom"}), Reply(503, ""),
                 Reply(body=[1]))
    assert client(fake_api, clock).request("GET", "/x").json() == [1]
    assert clock.waits == [0.75, 1.5]  # 1 s, 2 s with equal jitter 0.5
    assert len(fake_api.calls()) == 3


def test_5xx_retries_are_bounded_and_writes_are_never_resent(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/x", *[Reply(502, "bad gateway", content_type="text/plain")] * 3)
    with pytest.raises(ApiError, match=r"\(HTTP 502\): the server failed \(after 3 attempt"):
        client(fake_api, clock, attempts=3).request("GET", "/x")
    assert len(fake_api.calls("GET", "/v1/x")) == 3
    fake_api.add("POST", "/v1/additions", Reply(500, {"message": "record possibly in use"}))
    with pytest.raises(ApiError, match="record possibly in use"):
        client(fake_api, clock).request("POST", "/additions", json_body={"quantity": 12})
    assert len(fake_api.calls("POST", "/v1/additions")) == 1


def test_timeout_is_retried_for_reads_only(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/slow", Reply(body={}, hold=fake_api.hold()), Reply(body={"ok": 1}))
    assert client(fake_api, clock, read=0.3).request("GET", "/slow").json() == {"ok": 1}
    assert len(fake_api.calls("GET", "/v1/slow")) == 2
    fake_api.add("POST", "/v1/write", Reply(body={}, hold=fake_api.hold()))
    with pytest.raises(ApiError, match=r"no answer within the timeout \(0.3 s read"):
        client(fake_api, clock, read=0.3).request("POST", "/write", json_body={"units": 2})
    assert len(fake_api.calls("POST", "/v1/write")) == 1


def test_401_names_the_credentials_and_is_not_retried(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/x", Reply(401, {"code": "Unauthorized",
                                             "message": f"bad key {KEY}"}))
    hints = {401: "authentication failed: check RECON_VENDOR_API_KEY"}
    with pytest.raises(ApiError) as err:
        client(fake_api, clock, hints=hints).request("GET", "/x")
    assert str(err.value) == ("vendor: /v1/x (HTTP 401): authentication failed: check "
                              "RECON_VENDOR_API_KEY; the server said: bad key [redacted]")
    assert len(fake_api.calls()) == 1


def test_401_with_a_token_refreshes_once_and_replays_once(fake_api, clock) -> None:
    tokens = iter(["tok-old", "tok-new", "tok-third"])
    fetched = []

    def fetch() -> str:
        fetched.append(1)
        return next(tokens)

    fake_api.add("GET", "/v1/x", Reply(401, {}), Reply(body={"ok": 1}))
    api = client(fake_api, clock, auth=TokenAuth(fetch))
    assert api.request("GET", "/x").json() == {"ok": 1}
    assert [c.headers["authorization"] for c in fake_api.calls()] == ["Bearer tok-old",
                                                                      "Bearer tok-new"]
    fake_api.add("GET", "/v1/y", Reply(401, {}), Reply(401, {}))
    with pytest.raises(ApiError, match=r"HTTP 401"):
        api.request("GET", "/y")
    assert len(fake_api.calls("GET", "/v1/y")) == 2 and len(fetched) == 3


def test_403_says_which_permission(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/x", Reply(403, {"errors": [{"code": 4030010,
                                                         "detail": "site scope only"}]}))
    with pytest.raises(ApiError, match=r"\(HTTP 403\): permission denied.*site scope only"):
        client(fake_api, clock).request("GET", "/x")


def test_truncated_body_is_retried_then_an_error(fake_api, clock) -> None:
    doc = '[{"id": 1}, {"id": 2}, {"id": 3}]'
    fake_api.add("GET", "/v1/x", Reply(body=doc, truncate=12), Reply(body=doc))
    assert len(client(fake_api, clock).request("GET", "/x").json()) == 3
    fake_api.add("GET", "/v1/y", *[Reply(body=doc, truncate=12)] * 2)
    with pytest.raises(ApiError, match="closed before the whole response arrived"):
        client(fake_api, clock, attempts=2).request("GET", "/y")


def test_wrong_content_type_malformed_and_empty_bodies_are_errors(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/html", Reply(body="<html>Sign in</html>", content_type="text/html"))
    fake_api.add("GET", "/v1/bad", Reply(body='{"items": [1, 2,'))
    fake_api.add("GET", "/v1/none", Reply(body=b""))
    api = client(fake_api, clock)
    with pytest.raises(ApiError, match="answered text/html instead of JSON"):
        api.request("GET", "/html")
    with pytest.raises(ApiError, match="not complete, valid JSON"):
        api.request("GET", "/bad")
    with pytest.raises(ApiError, match="not complete, valid JSON"):
        api.request("GET", "/none")
    assert len(fake_api.calls()) == 3  # none of them retried


def test_next_link_to_another_host_is_refused_without_sending(fake_api, clock) -> None:
    other = fake_api.base.replace("127.0.0.1", "localhost")
    fake_api.add("GET", "/v1/items", Reply(body=[1], headers={"Link": f'<{other}/v1/steal>; '
                                                                       'rel="next"'}))
    api = client(fake_api, clock)
    with pytest.raises(ApiError, match=r"another host \(localhost.*no credentials were sent"):
        list(walk(api, PageRequest("GET", "/items"), link_header_next))
    assert [c.path for c in fake_api.calls()] == ["/v1/items"]


def test_repeated_next_link_stops_the_loop(fake_api, clock) -> None:
    page = {"items": [1], "next": "c1"}
    fake_api.json("GET", "/v1/items", {"items": [0], "next": "c1"}, page)
    api = client(fake_api, clock)
    with pytest.raises(ApiError, match="same next page twice"):
        list(walk(api, PageRequest("GET", "/items"), token_next(("next",), "cursor")))
    assert len(fake_api.calls()) == 2


def test_refused_connection_retries_then_says_so(clock) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = Session(clock=clock, timeout=httpx.Timeout(1.0),
                      policy=RetryPolicy(attempts=3, jitter=lambda: 0.5))
    api = ApiClient("vendor", f"http://127.0.0.1:{port}/v1", None, session)
    with pytest.raises(ApiError, match=r"cannot connect .* \(after 3 attempt"):
        api.request("POST", "/x", json_body={})  # nothing was sent: safe even for a write
    assert clock.waits == [0.75, 1.5]


def test_the_log_holds_no_secret(fake_api, clock) -> None:
    fake_api.add("GET", "/v1/x", Reply(500, {}), Reply(body={}))
    api = client(fake_api, clock)
    api.request("GET", "/x", params={"api_key": KEY, "sig": "abc123", "page": 2})
    text = repr(api.session.log.entries)
    assert KEY not in text and "abc123" not in text
    assert [e["status"] for e in api.session.log.entries] == [500, 200]
    assert api.session.log.entries[0]["params"] == {"api_key": "[redacted]",
                                                    "sig": "[redacted]", "page": 2}


def test_redactor_masks_names_and_values() -> None:
    r = Redactor()
    r.add("hunter2-secret", None, "x")
    assert r.url("https://h/p?sig=a%2Bb&se=2026&k=hunter2-secret") == (
        "https://h/p?sig=[redacted]&se=2026&k=[redacted]")
    assert r.value({"password": "p", "nested": ["hunter2-secret!"]}) == {
        "password": "[redacted]", "nested": ["[redacted]!"]}


@given(st.integers(min_value=0, max_value=100_000))
def test_retry_after_reads_seconds_and_dates(seconds: int) -> None:
    now = Clock().now().replace(microsecond=0)
    date = format_datetime(now + __import__("datetime").timedelta(seconds=seconds), usegmt=True)
    assert retry_after(str(seconds), now) == seconds
    assert retry_after(date, now) == seconds
    assert retry_after("soon", now) is None and retry_after(None, now) is None


@given(st.integers(min_value=1, max_value=30), st.floats(min_value=0, max_value=0.999))
def test_backoff_is_capped_with_jitter(failures: int, jitter: float) -> None:
    delay = RetryPolicy(backoff=1.0, backoff_cap=60.0, jitter=lambda: jitter).delay(failures)
    base = min(60.0, 2.0 ** (failures - 1))
    assert base / 2 <= delay < base


def test_rate_limit_spaces_calls_in_a_sliding_window() -> None:
    clock = FakeClock()
    limit = RateLimit(2, 60.0, clock)
    for _ in range(3):
        limit.acquire()
    assert clock.waits == [60.0]
