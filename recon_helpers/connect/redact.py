"""Keeping credentials out of everything a pull writes or prints.

Two rules, applied together: a query parameter or body field whose *name* marks a secret
(``sig``, ``api_key``, ``password``, ``client_secret``, ...) loses its value, and any *value*
registered as secret (every credential read, the Basic header built from them, each access
token and SAS token received) is replaced wherever it appears, whatever its key.

Example:
    >>> r = Redactor()
    >>> r.add("s3cr3t-value")
    >>> r.url("https://blob.example/x.json.gz?sp=rl&sig=abc&k=s3cr3t-value")
    'https://blob.example/x.json.gz?sp=rl&sig=[redacted]&k=[redacted]'
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "[redacted]"
# names whose values are credentials, compared in lower case without '-' and '_'
SECRET_NAMES = frozenset(
    {
        "sig",
        "apikey",
        "apisecret",
        "apitoken",
        "accesstoken",
        "refreshtoken",
        "token",
        "password",
        "secret",
        "clientsecret",
        "clientid",
        "code",
        "user",
        "username",
        "authorization",
        "sastoken",
        "privatekey",
        "publickey",
        "integrationcode",
        "apiintegrationcode",
    }
)
MIN_SECRET = 3  # shorter values would blank out unrelated text; no real credential is this short


def is_secret_name(name: str) -> bool:
    """Whether a parameter, field or header name carries a credential."""
    return name.lower().replace("-", "").replace("_", "") in SECRET_NAMES


class Redactor:
    """Secret values seen during one pull, and the redaction of text, URLs and parameters."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        """Register values (credentials, tokens) that must never be written."""
        with self._lock:
            self._values.update(v for v in values if v and len(v) >= MIN_SECRET)

    def text(self, text: str) -> str:
        """``text`` with every registered value replaced by the mask (longest first)."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def url(self, url: str) -> str:
        """A URL with secret query values masked and registered values removed."""
        parts = urlsplit(url)
        query = [(k, MASK if is_secret_name(k) else v) for k, v in parse_qsl(parts.query, True)]
        clean = urlunsplit(parts._replace(query=urlencode(query, safe="[]/:,")))
        return self.text(clean)

    def value(self, value: Any) -> Any:
        """A JSON-ready copy of parameters or a body: secret keys and values masked."""
        if isinstance(value, Mapping):
            return {
                str(k): MASK if is_secret_name(str(k)) else self.value(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value
