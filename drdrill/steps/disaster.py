"""Steps that inject the disaster."""

from __future__ import annotations

from pytest_bdd import parsers, when

from drdrill.orchestration.drill import Drill


@when(parsers.parse("the {region} region fails by {mode}"))
def region_fails(drill: Drill, region: str, mode: str) -> None:
    drill.inject(region, mode)
