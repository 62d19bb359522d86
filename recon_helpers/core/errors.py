"""The exception hierarchy: every failure a user can act on is a ReconError.

The CLI catches ReconError at one place and exits with its ``exit_code``;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class ReconError(Exception):
    """A failure the user can act on. The CLI prints the message and exits with exit_code."""

    exit_code: int = 2


class UsageError(ReconError):
    """Bad parameters or command-line usage (a bad period, an unknown client, ...)."""


class ConfigError(ReconError):
    """``recon.toml`` or a mapping file is malformed."""


class InputFileError(ReconError):
    """An input file cannot be read or recognised; names the file and, when known, the row."""

    def __init__(self, path: Path | str, problem: str, row: int | None = None) -> None:
        name = Path(path).name
        where = f"{name}:{row}" if row is not None else name
        self.path = Path(path)
        self.row = row
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class UnknownFormatError(InputFileError):
    """No registered format matches the file's header or JSON keys."""


class VerificationFailed(ReconError):
    """A signed report no longer matches what was sealed."""

    exit_code = 1


class LedgerError(ReconError):
    """The decision ledger cannot be read, written or is locked."""


class RenderError(ReconError):
    """A notebook failed while rendering a report."""


class ApiError(ReconError):
    """A vendor or PSA API call failed; names the source, the endpoint and, when known, the status.

    The message never holds a credential: URLs are redacted before they reach it.
    """

    def __init__(
        self, source: str, endpoint: str, problem: str, status: int | None = None
    ) -> None:
        self.source = source
        self.endpoint = endpoint
        self.status = status
        self.problem = problem
        code = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{source}: {endpoint}{code}: {problem}")
