"""The checkout's folders the tests read (all tracked in git: a missing one fails the test)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATASETS", "FIXTURES", "REPO"]

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / "datasets"
FIXTURES = REPO / "tests" / "fixtures"
