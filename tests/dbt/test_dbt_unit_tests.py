"""The dbt unit tests (dbt_project/models/marts/_unit_tests.yml: score mapping, tier bounds, decay and
drop-out, reactor selectivity, ring discount, burst discount, change contributions, influence multiplier floor) pass, inside
a `dbt build` of a day with no events (unit tests need their parent relations to exist, which the
build creates first)."""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path

import yaml
from dbt_world import DbtWorld

from influence.settings import DBT_PROJECT_DIR, MODEL_VERSION

EXPECTED_UNIT_TESTS = {
    "score_mapping_uses_the_fixed_scale",
    "tiers_start_at_10_30_50_and_90",
    "factors_decay_with_the_half_life_and_drop_out_after_90_days",
    "reactor_selectivity_and_outside_audience",
    "reciprocal_ring_is_discounted",
    "burst_of_actions_in_one_minute_is_discounted",
    "score_change_contributions_sum_to_the_change",
    "influence_multiplier_is_floored_at_the_average_account",
}


def test_dbt_unit_tests_pass_and_an_empty_day_builds(tmp_path: Path) -> None:
    world = DbtWorld(tmp_path / "world")
    day = datetime.date(2012, 7, 4)
    world.write_day(day)
    world.dbt_build(day)
    results = json.loads((world.root / "target" / "run_results.json").read_text())["results"]
    unit_tests = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert unit_tests == dict.fromkeys(EXPECTED_UNIT_TESTS, "pass")
    assert world.scalar("select count(*) from marts.fct_person_scores") == 0


def test_the_default_model_version_is_the_one_python_reports_and_has_constants() -> None:
    # the dbt var decides which version a build publishes; the audit rows and the evaluation report
    # label it with influence.settings.MODEL_VERSION: the two must not drift apart
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["vars"]["model_version"] == MODEL_VERSION
    with (DBT_PROJECT_DIR / "seeds" / "model_versions.csv").open() as handle:
        assert [row for row in csv.DictReader(handle) if row["model_version"] == MODEL_VERSION]
    with (DBT_PROJECT_DIR / "seeds" / "model_factor_weights.csv").open() as handle:
        assert len([row for row in csv.DictReader(handle) if row["model_version"] == MODEL_VERSION]) == 7
