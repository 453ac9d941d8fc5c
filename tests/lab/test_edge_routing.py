"""The edge's Route 53 model: failover with health thresholds, TTL caching, weights (pure)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from drdrill.lab.edge import EdgeState


def edge(ttl: float = 0.0, records: list[dict[str, object]] | None = None) -> EdgeState:
    return EdgeState(
        {
            "records": records
            or [
                {"name": "shop", "role": "PRIMARY", "region": "primary"},
                {"name": "shop", "role": "SECONDARY", "region": "dr"},
            ],
            "backends": {"primary": ["http://p"], "dr": ["http://d"]},
            "interval": 0.2,
            "threshold": 2,
            "ttl": ttl,
        }
    )


def test_failover_needs_threshold_consecutive_failures_both_ways() -> None:
    state = edge()
    state.observe("primary", False)
    assert state.resolve() == "primary"  # one failure is not enough
    state.observe("primary", False)
    assert state.resolve() == "dr"
    state.observe("primary", True)
    assert state.resolve() == "dr"
    state.observe("primary", True)
    assert state.resolve() == "primary"


def test_no_healthy_region_resolves_to_nothing() -> None:
    state = edge()
    for region in ("primary", "dr"):
        state.observe(region, False)
        state.observe(region, False)
    assert state.resolve() is None


def test_having_no_healthy_region_is_not_cached_for_the_ttl() -> None:
    # a planned switchover fences the one writable database: both regions fail their
    # health checks until it is writable again; customers must not wait a TTL more
    state = edge(ttl=30.0)
    for region in ("primary", "dr"):
        state.observe(region, False)
        state.observe(region, False)
    assert state.resolve() is None
    state.observe("primary", True)
    state.observe("primary", True)
    assert state.resolve() == "primary"


def test_clients_see_a_record_change_only_after_the_ttl() -> None:
    state = edge(ttl=0.3)
    assert state.resolve() == "primary"
    state.apply(
        [
            {"action": "UPSERT", "record": {"name": "shop", "role": "PRIMARY", "region": "dr"}},
            {
                "action": "UPSERT",
                "record": {"name": "shop", "role": "SECONDARY", "region": "primary"},
            },
        ]
    )
    # an UPSERT invalidates the edge's own cache; health flips are what the TTL delays
    assert state.resolve() == "dr"
    state.observe("dr", False)
    state.observe("dr", False)
    assert state.resolve() == "dr"
    time.sleep(0.35)
    assert state.resolve() == "primary"


def test_weighted_records_split_traffic_for_a_gradual_failback() -> None:
    state = edge(
        records=[
            {"name": "shop", "role": "WEIGHTED", "region": "primary", "weight": 10},
            {"name": "shop", "role": "WEIGHTED", "region": "dr", "weight": 90},
        ]
    )
    counts = Counter(state.resolve() for _ in range(5000))
    assert 0.07 < counts["primary"] / 5000 < 0.13


def test_a_bad_change_batch_changes_nothing() -> None:
    state = edge()
    with pytest.raises(ValueError, match="role"):
        state.apply(
            [
                {"action": "UPSERT", "record": {"name": "shop", "role": "PRIMARY", "region": "dr"}},
                {"action": "UPSERT", "record": {"name": "shop", "role": "TERTIARY", "region": "x"}},
            ]
        )
    assert [r.region for r in state.records if r.role == "PRIMARY"] == ["primary"]
