"""Real public artefacts (not committed: see fixtures/real/README.md); set PATCHMORTEM_REAL_CORPUS."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_corpus() -> Path:
    root = os.environ.get("PATCHMORTEM_REAL_CORPUS", "")
    if not root or not Path(root).is_dir():
        pytest.skip("PATCHMORTEM_REAL_CORPUS not set: real-data corpus absent")
    return Path(root)
