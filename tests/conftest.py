"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def month_dir(tmp_path: Path) -> Path:
    """An empty workspace with inputs/2026-10/ ready for files."""
    folder = tmp_path / "data" / "inputs" / "2026-10"
    folder.mkdir(parents=True)
    return folder
