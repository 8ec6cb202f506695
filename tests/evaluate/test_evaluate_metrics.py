"""Ranking metrics of the evaluation, on examples small enough to compute by hand."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from influence.evaluate import average_ranks, ndcg_at_k, pagerank, paired_bootstrap_difference, spearman


def test_average_ranks_share_the_mean_rank_of_a_tie() -> None:
    assert average_ranks(np.array([10, 30, 20, 30])).tolist() == [1.0, 3.5, 2.0, 3.5]


def test_spearman_hand_computed_with_a_tie() -> None:
    # ranks of y: [1, 2, 3.5, 5, 3.5]; centred x·y = 8, |x|² = 10, |y|² = 9.5 → 8 / sqrt(95)
    rho = spearman(np.array([1, 2, 3, 4, 5]), np.array([5, 6, 7, 8, 7]))
    assert rho == pytest.approx(8 / math.sqrt(95))


def test_spearman_perfect_reversed_and_constant() -> None:
    x = np.array([3.0, 1.0, 2.0])
    assert spearman(x, x * 10) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert math.isnan(spearman(x, np.array([4.0, 4.0, 4.0])))


def test_spearman_agrees_with_scipy_on_heavily_tied_counts() -> None:
    rng = np.random.default_rng(1)
    x = rng.poisson(0.7, 2000).astype(float)
    y = x + rng.poisson(0.5, 2000)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_ndcg_hand_computed() -> None:
    # order by prediction: relevances 1, 0, 2 → DCG = 1/1 + 0 + 2/log2(4) = 2
    # ideal 2, 1, 0 → 2 + 1/log2(3)
    value = ndcg_at_k(np.array([3.0, 2.0, 1.0]), np.array([1.0, 0.0, 2.0]), k=3)
    assert value == pytest.approx(2 / (2 + 1 / math.log2(3)))


def test_ndcg_cuts_at_k() -> None:
    # top 2 by prediction: relevances 0, 3 → DCG = 3/log2(3); ideal 3, 1 → 3 + 1/log2(3)
    value = ndcg_at_k(np.array([4.0, 3.0, 2.0, 1.0]), np.array([0.0, 3.0, 1.0, 0.0]), k=2)
    assert value == pytest.approx((3 / math.log2(3)) / (3 + 1 / math.log2(3)))


def test_ndcg_perfect_order_is_one_and_nothing_to_find_is_nan() -> None:
    relevance = np.array([5.0, 3.0, 0.0, 1.0])
    assert ndcg_at_k(relevance, relevance, k=3) == pytest.approx(1.0)
    assert math.isnan(ndcg_at_k(relevance, np.zeros(4), k=3))


def test_ndcg_tied_predictions_get_the_mean_gain_of_the_tie() -> None:
    # a constant predictor cannot tell the accounts apart: position gains are the mean 0.5
    assert ndcg_at_k(np.array([1.0, 1.0]), np.array([1.0, 0.0]), k=1) == pytest.approx(0.5)
    # the tie-break by input order must not matter
    assert ndcg_at_k(np.array([1.0, 1.0]), np.array([0.0, 1.0]), k=1) == pytest.approx(0.5)
    # tie group of two at the top (gains 2, 0 → 1 each), then relevance 1:
    # DCG = 1 + 1/log2(3) + 1/2; ideal 2 + 1/log2(3)
    value = ndcg_at_k(np.array([5.0, 5.0, 1.0]), np.array([2.0, 0.0, 1.0]), k=3)
    assert value == pytest.approx((1 + 1 / math.log2(3) + 0.5) / (2 + 1 / math.log2(3)))


def test_pagerank_two_cycle_is_uniform_and_star_centre_wins() -> None:
    ranks, _ = pagerank(np.array([0, 1]), np.array([1, 0]), np.array([1.0, 1.0]), 2)
    assert ranks == pytest.approx([0.5, 0.5])
    ranks, _ = pagerank(np.array([1, 2, 3]), np.array([0, 0, 0]), np.ones(3), 4)
    assert ranks.sum() == pytest.approx(1.0)
    assert ranks[0] > ranks[1] == pytest.approx(ranks[2])


def test_pagerank_matches_networkx_on_a_weighted_graph_with_a_dangling_node() -> None:
    edges = [(0, 1, 3.0), (0, 2, 1.0), (1, 2, 1.0), (2, 0, 2.0), (3, 2, 1.0), (2, 4, 1.0)]  # 4 is dangling
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(edges)
    expected = nx.pagerank(graph, alpha=0.85, tol=1e-12)
    sources, targets, weights = (np.array(column) for column in zip(*edges, strict=True))
    ranks, iterations = pagerank(sources, targets, weights, 5)
    assert 1 < iterations < 200
    assert ranks == pytest.approx([expected[node] for node in range(5)], abs=1e-8)


def test_paired_bootstrap_interval_excludes_zero_when_one_predictor_is_clearly_better() -> None:
    rng = np.random.default_rng(7)
    outcome = rng.poisson(3, 500).astype(float)
    good = outcome + rng.normal(0, 0.5, 500)
    poor = rng.normal(0, 1, 500)
    low, high = paired_bootstrap_difference(spearman, good, poor, outcome, resamples=50)
    assert 0 < low <= high
