"""The security floor: pyproject.toml requires versions that carry the published fixes.

Reports are rendered with nbconvert (which renders Markdown with mistune) and ``recon lab``
serves the notebooks with jupyter_server, so a vulnerable version of any of them is a way in
for content that came from an input file. Each floor below is the first release fixing every
advisory listed for it; the test fails when pyproject.toml allows an older version or when
the installed environment does not satisfy pyproject.toml.

Sources: the projects' release notes and changelogs, GitHub security advisories (GHSA), and
the pull requests that fixed them (checked 2026-09).
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# package -> (first fixed version, the last vulnerable release before it, advisories fixed)
FLOOR: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "nbconvert": (
        "7.17.1",
        "7.17.0",
        (
            "CVE-2025-53000 / GHSA-xm59-rqc7-hhvf: inkscape search path, code execution on "
            "PDF export (fixed 7.17.0)",
            "CVE-2026-39377, CVE-2026-39378: the 7.17.1 security release",
        ),
    ),
    "mistune": (
        "3.3.3",
        "3.3.2",
        (
            "CVE-2022-34749: ReDoS in emphasis (fixed 2.0.3)",
            "ReDoS in LINK_TITLE_RE; unescaped heading id / TOC link / math text / "
            "directive class attributes (XSS) (fixed 3.2.1)",
            "GHSA-6m44-fpc8-c3rq / CVE-2026-76098: RecursionError on deeply nested emphasis, "
            "3.3.0-3.3.2 (fixed 3.3.3)",
        ),
    ),
    "jupyter-server": (
        "2.21.0",
        "2.20.0",
        (
            "CVE-2024-35178: NTLM hash leak on Windows (fixed 2.14.1)",
            "CVE-2025-61669, CVE-2026-35397 (path traversal), CVE-2026-40110, CVE-2026-40934 "
            "(fixed 2.18.x)",
            "CVE-2026-44727: stored XSS in nbconvert handlers, code execution (fixed 2.20.0)",
            "GHSA-c3mw-737p-c7g2: token in Referer header logged on a 500 (fixed 2.21.0)",
        ),
    ),
}


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    return {canonicalize_name(r.name): r for r in reqs}


@pytest.mark.parametrize("package", sorted(FLOOR))
def test_pyproject_requires_at_least_the_fixed_version(package: str) -> None:
    fixed, last_vulnerable, advisories = FLOOR[package]
    req = _requirements().get(canonicalize_name(package))
    assert req is not None, f"{package} is not declared in pyproject.toml dependencies"
    lower = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    assert lower and max(lower) >= Version(fixed), (
        f"pyproject.toml: {req} allows versions without the fixes of {fixed}: {advisories}"
    )
    assert not req.specifier.contains(last_vulnerable, prereleases=True), (
        f"pyproject.toml: {req} still allows {last_vulnerable}"
    )
    assert req.specifier.contains(fixed, prereleases=True)


@pytest.mark.parametrize("package", sorted(FLOOR))
def test_installed_version_satisfies_the_floor(package: str) -> None:
    req = _requirements()[canonicalize_name(package)]
    try:
        installed = version(package)
    except PackageNotFoundError:  # pragma: no cover - the environment is incomplete
        pytest.fail(f"{package} is declared but not installed; run `make test` to install it")
    assert req.specifier.contains(installed, prereleases=True), (
        f"installed {package} {installed} does not satisfy pyproject.toml {req}"
    )
    assert Version(installed) >= Version(FLOOR[package][0])
