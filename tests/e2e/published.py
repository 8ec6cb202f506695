"""What a consumer sees in the published database, and how two publications are compared."""

from __future__ import annotations

from pathlib import Path

import duckdb


def published_marts(data_dir: Path) -> dict[str, list[tuple]]:
    """Every published table except the run audit, rows sorted: what a consumer can see."""
    with duckdb.connect(str(data_dir / "published" / "influence.duckdb"), read_only=True) as connection:
        tables = [t for (t,) in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name <> 'run_audit' ORDER BY 1").fetchall()]
        return {t: connection.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}


def assert_same_marts(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> None:
    """Same tables, same rows, every value bit-identical (doubles included: every sum of doubles in
    the dbt project is an exact decimal sum, `macros/exact_sum.sql`, so thread order cannot change
    a last bit). Reports the first differing row of each table."""
    assert sorted(actual) == sorted(expected)
    for table in expected:
        assert len(actual[table]) == len(expected[table]), f"{table}: {len(actual[table])} rows, expected {len(expected[table])}"
        for got, want in zip(actual[table], expected[table], strict=True):
            assert got == want, f"{table}: {got} != {want}"
