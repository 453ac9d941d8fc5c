"""Fixtures for tests on the real lab: each module gets its own ports and state dir."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from drdrill.config import DrillConfig, load_config


def lab_config(base_port: int) -> tuple[DrillConfig, Path]:
    """A config putting the lab on ``base_port`` with a state dir PostgreSQL can reach."""
    root = Path(tempfile.mkdtemp(prefix="drdrill-test-", dir="/tmp"))
    os.chmod(root, 0o755)
    file = root / "drdrill.yaml"
    file.write_text(f"lab:\n  base_port: {base_port}\n  state_dir: {root / 'lab'}\n")
    return load_config(file), file


@pytest.fixture(scope="session")
def make_lab_config() -> Callable[[int], tuple[DrillConfig, Path]]:
    return lab_config
