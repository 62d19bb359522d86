"""The non-secret settings of each API source: recon.toml ``[pull.<source>]``.

SPEC lists them per source (base and token URLs, the ConnectWise company id, the Microsoft
tenant); without them the vendor's documented public URLs apply. Anything else in the table
is an error naming the key, and a key that looks like a credential is refused with the
environment variable to use instead: secrets never live in workspace files.

One key beyond SPEC: ``[pull.microsoft] partner_center_url``. Graph serves the billed
reconciliation export, but the month's invoice ids come from the Partner Center REST API on
its own host, which a proxy or a test server must be able to stand in for too.

Example:
    >>> pull_settings({"pull": {"pax8": {"base_url": "http://127.0.0.1:8080/v1"}}}, "pax8")
    {'base_url': 'http://127.0.0.1:8080/v1'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recon_helpers.connect.redact import is_secret_name
from recon_helpers.connect.secrets import SECRET_FIELDS, env_name
from recon_helpers.core.errors import ConfigError

SETTING_KEYS: dict[str, tuple[str, ...]] = {
    "connectwise": ("base_url", "company"),
    "autotask": ("base_url",),
    "pax8": ("base_url", "token_url"),
    "microsoft": ("base_url", "token_url", "tenant", "partner_center_url"),
    "datto_rmm": ("base_url", "token_url"),
    "sentinelone": ("base_url",),
    "huntress": ("base_url",),
    "halopsa": ("base_url", "token_url"),
}
SOURCES = tuple(SETTING_KEYS)


def pull_settings(doc: Mapping[str, Any], source: str) -> dict[str, str]:
    """``[pull.<source>]`` of a parsed recon.toml, checked.

    Raises:
        ConfigError: an unknown key, a credential in the file, or a value that is not text.
    """
    table = doc.get("pull", {})
    if not isinstance(table, Mapping):
        raise ConfigError("recon.toml: [pull] must be a table of [pull.<source>] tables")
    unknown_sources = sorted(set(table) - set(SOURCES))
    if unknown_sources:
        raise ConfigError(f"recon.toml: unknown [pull.{unknown_sources[0]}]; sources: "
                          f"{', '.join(SOURCES)}")
    entry = table.get(source, {})
    if not isinstance(entry, Mapping):
        raise ConfigError(f"recon.toml: [pull.{source}] must be a table")
    out = {}
    for key, value in entry.items():
        secret = key in SECRET_FIELDS[source] or is_secret_name(key)
        if secret and key not in SETTING_KEYS[source]:
            var = env_name(source, key) if key in SECRET_FIELDS[source] else "the environment"
            raise ConfigError(
                f"recon.toml [pull.{source}] {key}: credentials never go in workspace files; "
                f"remove it and set {var} or the OS keyring (service recon-{source})"
            )
        if key not in SETTING_KEYS[source]:
            raise ConfigError(f"recon.toml [pull.{source}]: unknown key {key!r}; known: "
                              f"{', '.join(SETTING_KEYS[source])}")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"recon.toml [pull.{source}] {key} must be a non-empty string")
        out[key] = value.strip()
    return out
