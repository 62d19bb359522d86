"""Credentials of the API sources: environment variables first, then the OS keyring.

SPEC: ``RECON_<SOURCE>_<FIELD>`` in upper case (``RECON_PAX8_CLIENT_SECRET``), else the OS
keyring under the service ``recon-<source>`` with the field name as the user name
(``keyring set recon-pax8 client_secret``). Secrets never come from files in the workspace.
A machine without a usable keyring backend just has nothing there: the source counts as not
configured, it does not fail.

Example:
    >>> creds, missing = credentials("huntress")
    >>> missing
    ['RECON_HUNTRESS_API_KEY', 'RECON_HUNTRESS_API_SECRET']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# every field SPEC lists as an environment variable is a secret
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "connectwise": ("public_key", "private_key", "client_id"),
    "autotask": ("username", "secret", "integration_code"),
    "pax8": ("client_id", "client_secret"),
    "microsoft": ("client_id", "client_secret"),
    "datto_rmm": ("api_key", "api_secret"),
    "sentinelone": ("api_token",),
    "huntress": ("api_key", "api_secret"),
    "halopsa": ("client_id", "client_secret"),
}

KeyringGet = Callable[[str, str], "str | None"]


def env_name(source: str, name: str) -> str:
    """The environment variable of one secret: ``RECON_<SOURCE>_<FIELD>``."""
    return f"RECON_{source}_{name}".upper()


def keyring_service(source: str) -> str:
    """The keyring service name of a source: ``recon-<source>``."""
    return f"recon-{source}"


def system_keyring(service: str, name: str) -> str | None:
    """The OS keyring's value, or None when absent or when there is no usable backend."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # keyring is a dependency, but a stripped install must not crash
        return None
    try:
        return keyring.get_password(service, name)
    except KeyringError:  # no backend (headless servers, CI): not configured
        return None
    except Exception:  # third-party backends raise their own errors (D-Bus, locked wallet)
        return None


@dataclass(frozen=True, repr=False)
class Credentials:
    """One source's secrets. Its repr names the fields only, never a value."""

    source: str
    values: Mapping[str, str]

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def __repr__(self) -> str:
        return f"Credentials({self.source}: {', '.join(sorted(self.values))})"


def credentials(
    source: str,
    environ: Mapping[str, str] | None = None,
    keyring_get: KeyringGet | None = None,
) -> tuple[Credentials | None, list[str]]:
    """The source's credentials, or None and the environment variables still missing."""
    env = os.environ if environ is None else environ
    get = system_keyring if keyring_get is None else keyring_get
    values: dict[str, str] = {}
    missing = []
    for name in SECRET_FIELDS[source]:
        value = env.get(env_name(source, name)) or get(keyring_service(source), name)
        if value:
            values[name] = value
        else:
            missing.append(env_name(source, name))
    if missing:
        return None, missing
    return Credentials(source, values), []


def how_to_configure(source: str, missing: list[str]) -> str:
    """One line telling how to provide a source's missing secrets."""
    fields = [m.removeprefix(f"RECON_{source.upper()}_").lower() for m in missing]
    return (f"set {', '.join(missing)} (or store them in the OS keyring: "
            f"keyring set {keyring_service(source)} {fields[0]}, ...)")
