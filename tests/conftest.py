"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check what is true, not how fast: on a shared 2-core CI machine one example
# can take several times the 200 ms default deadline, which hypothesis reports as a flaky
# failure. Tests that set their own deadline keep it.
settings.register_profile("recon", deadline=None)
settings.load_profile("recon")

# the fake vendor API server (``fake_api``) for the recon pull tests
pytest_plugins = ["tests.fake_api"]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def month_dir(tmp_path: Path) -> Path:
    """An empty workspace with inputs/2026-10/ ready for files."""
    folder = tmp_path / "data" / "inputs" / "2026-10"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def demo_month(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo workspace written once per session, and its 2026-10 reconciliation.

    A template: tests copy it (``demo_ws``) before recording decisions or writing reports.
    """
    from recon_helpers.core.period import Period
    from recon_helpers.core.workspace import Workspace
    from recon_helpers.demo.write import write_demo
    from recon_helpers.reconcile.run import reconcile_period

    root = tmp_path_factory.mktemp("demo-template") / "data"
    write_demo(root)
    return root, reconcile_period(Workspace.open(root), Period.parse("2026-10"))


@pytest.fixture
def demo(demo_month):  # type: ignore[no-untyped-def]
    """The shared demo workspace folder; read only (``demo_ws`` is a copy to write to)."""
    return demo_month[0]


@pytest.fixture
def rec(demo_month):  # type: ignore[no-untyped-def]
    """The shared demo workspace's 2026-10 reconciliation; read only."""
    return demo_month[1]


@pytest.fixture
def demo_ws(demo_month, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A private copy of the demo workspace (reports go to tmp_path/reports)."""
    import shutil

    from recon_helpers.core.workspace import Workspace

    shutil.copytree(demo_month[0], tmp_path / "data")
    return Workspace.open(tmp_path / "data")
