"""Comparing two databases for a failback: censuses from ids, the rows that differ, and the
acknowledged writes either lacks (pure; the lab tests check it against SQL)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from drdrill.observation.integrity import compare_databases

AS_OF = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def test_identical_databases_are_consistent_with_the_census_checksum() -> None:
    ids = {"b-2", "a-1", "c-3"}
    result = compare_databases(
        AS_OF, {"dr": ids, "primary": ids}, {"dr": ids | {"late"}, "primary": ids}, {"a-1"}
    )
    assert result.consistent and result.problems() == []
    assert result.censuses["dr"].count == 3
    assert result.censuses["dr"].checksum == hashlib.md5(b"a-1,b-2,c-3").hexdigest()
    assert result.acknowledged == 1


def test_differing_rows_and_missing_acknowledged_writes_are_named() -> None:
    result = compare_databases(
        AS_OF,
        {"dr": {"a", "b", "x"}, "primary": {"a", "b"}},
        {"dr": {"a", "b", "x"}, "primary": {"a", "b"}},
        {"a", "x", "ghost"},
    )
    assert not result.consistent
    assert result.only_in == {"dr": ("x",), "primary": ()}
    assert result.missing == {"dr": (), "primary": ("x",)}
    assert result.lost_before == ("ghost",)  # on neither: lost earlier, not a difference
    problems = " | ".join(result.problems())
    assert "order count 2, expected 3" in problems
    assert "only dr holds 1 order(s): x" in problems
    assert "primary lacks 1 acknowledged write(s): x" in problems
    assert "ghost" not in problems
    assert result.to_json()["consistent"] is False


def test_an_acknowledged_write_on_neither_is_lost_before_not_an_inconsistency() -> None:
    ids = {"a"}
    result = compare_databases(
        AS_OF, {"dr": ids, "primary": ids}, {"dr": ids, "primary": ids}, {"a", "z"}
    )
    assert result.consistent and result.lost_before == ("z",)


def test_many_differing_rows_are_shortened() -> None:
    many = {f"id-{i:02d}" for i in range(15)}
    result = compare_databases(
        AS_OF, {"dr": many, "primary": set()}, {"dr": many, "primary": set()}, ()
    )
    assert "(+5 more)" in result.problems()[-1]


def test_compare_databases_wants_exactly_two() -> None:
    with pytest.raises(ValueError, match="expected two databases"):
        compare_databases(AS_OF, {"dr": set()}, {"dr": set()}, ())
