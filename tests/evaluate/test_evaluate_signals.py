"""Outcomes and raw-count baselines counted from raw events, on crafted rows."""

from __future__ import annotations

import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from extractors.schema import EVENTS
from influence.evaluate import account_signals, plain_pagerank


def _events(rows: list[tuple[str, str, str, str, int]]) -> pa.Table:
    """rows: (event_id, event_type, actor, target, day of July 2012)."""
    return pa.Table.from_pylist(
        [
            {
                "network": "twitter",
                "event_id": event_id,
                "event_type": event_type,
                "actor_account_id": actor,
                "target_account_id": target,
                "target_post_id": None,
                "post_id": None,
                "occurred_at": datetime.datetime(2012, 7, day, 10, tzinfo=datetime.UTC),
                "source_file": "crafted",
                "source_line": line,
            }
            for line, (event_id, event_type, actor, target, day) in enumerate(rows)
        ],
        schema=EVENTS,
    )


CRAFTED = _events(
    [
        ("rt:a:t:1", "reshare", "a", "t", 1),
        ("rt:a:t:1", "reshare", "a", "t", 1),  # duplicated line: counted once
        ("rt:b:t:2", "reshare", "b", "t", 2),
        ("mt:b:t:2", "mention", "b", "t", 2),
        ("rt:t:t:2", "reshare", "t", "t", 2),  # self-engagement: never counts
        ("re:t:a:3", "reply", "t", "a", 3),
        ("rt:c:t:4", "reshare", "c", "t", 4),  # after the history window
        ("mt:c:a:5", "mention", "c", "a", 5),
    ]
)


def test_history_window_counts_distinct_engagers_reshares_and_mentions() -> None:
    con = duckdb.connect()
    con.register("crafted", CRAFTED)
    history = account_signals(con, "crafted", datetime.date(2012, 7, 1), datetime.date(2012, 7, 4))
    by_account = {
        account: (engagers, reshares, mentions)
        for account, engagers, reshares, mentions in zip(
            history.account_ids, history.distinct_engagers, history.reshares_received, history.mentions_received, strict=True
        )
    }
    # c acts only on 07-04/05, so it is not in the 07-01..03 universe
    assert by_account == {"a": (1, 0, 0), "b": (0, 0, 0), "t": (2, 2, 1)}


def test_outcome_window_is_aligned_to_the_history_universe() -> None:
    con = duckdb.connect()
    con.register("crafted", CRAFTED)
    future = account_signals(con, "crafted", datetime.date(2012, 7, 4), datetime.date(2012, 7, 8), ["a", "b", "t"])
    assert future.distinct_engagers.tolist() == [1, 0, 1]
    assert future.reshares_received.tolist() == [0, 0, 1]


def test_plain_pagerank_ranks_the_most_engaged_account_first() -> None:
    con = duckdb.connect()
    con.register("crafted", CRAFTED)
    ranks, iterations = plain_pagerank(con, "crafted", datetime.date(2012, 7, 1), datetime.date(2012, 7, 4), ["a", "b", "t"])
    assert iterations > 1
    assert np.argmax(ranks) == 2
    assert ranks.sum() == pytest.approx(1.0)
