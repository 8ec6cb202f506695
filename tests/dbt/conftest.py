"""Fixtures of the dbt model tests (helpers live in dbt_world.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_world import DbtWorld


@pytest.fixture
def dbt_world(tmp_path: Path) -> Iterator[DbtWorld]:
    world = DbtWorld(tmp_path / "world")
    world.root.mkdir()
    yield world
    shutil.rmtree(world.root, ignore_errors=True)
