"""Property 6: a new model version adds rows beside the published ones and never rewrites them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dbt_world import DbtWorld
from test_model_properties import D0, write_world

from influence.settings import DBT_PROJECT_DIR, MODEL_VERSION

# several `dbt build`s in child processes: well over 20 s together
pytestmark = pytest.mark.slow

PUBLISHED = "select person_id, score, rank, tier from marts.fct_person_scores where model_version = ? order by person_id"


def project_with_second_version(target: Path) -> Path:
    """The project as committed plus a version 2.0.0 (another half-life and weights)."""
    shutil.copytree(DBT_PROJECT_DIR, target, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    with (target / "seeds" / "model_versions.csv").open("a") as versions:
        versions.write("2.0.0,21,90,20,10,0.001,0.5,10,0.85,5.0,1.0,1.0\n")
    with (target / "seeds" / "model_factor_weights.csv").open("a") as weights:
        for factor, weight in [("audience", 0.3), ("amplification", 0.1), ("conversation", 0.1), ("mentions", 0.1),
                               ("appreciation", 0.1), ("content", 0.1), ("network_influence", 0.2)]:
            weights.write(f"2.0.0,{factor},{weight},0.2\n")
    return target


def test_a_new_model_version_never_rewrites_published_scores(tmp_path: Path) -> None:
    world = DbtWorld(tmp_path / "world", project_dir=project_with_second_version(tmp_path / "project"))
    world.root.mkdir()
    write_world(world)
    # a plain dbt build: the pipeline builds only the committed project, not this copy
    world.dbt_build(D0, "--exclude", "test_type:unit")
    published_v1 = world.query(PUBLISHED, MODEL_VERSION)
    assert len(published_v1) >= 10

    world.dbt_build(D0, "--exclude", "test_type:unit", model_version="2.0.0")
    v2 = world.query(PUBLISHED, "2.0.0")
    assert world.query(PUBLISHED, MODEL_VERSION) == published_v1
    assert [row[0] for row in v2] == [row[0] for row in published_v1]
    assert v2 != published_v1                       # a different model gives different scores ...
    assert world.scalar("select count(distinct model_version) from marts.fct_score_changes") == 2

    world.dbt_build(D0, "--exclude", "test_type:unit")  # ... and rebuilding the default version leaves 2.0.0 alone
    assert world.query(PUBLISHED, "2.0.0") == v2
    assert world.query(PUBLISHED, MODEL_VERSION) == published_v1
