"""Steps about the platform as a whole: its steady state, customers on it, putting it back."""

from __future__ import annotations

from pytest_bdd import given, then

from drdrill.orchestration.drill import Drill


@given("the platform is in its steady state")
def steady_state(drill: Drill) -> None:
    drill.prepare()


@given("customers are using the platform")
def customers_shopping(drill: Drill) -> None:
    drill.observe(with_load=True)


@then("the platform is put back to its steady state")
def put_back(drill: Drill) -> None:
    drill.close()
    check = drill.target.verify_services()
    assert check.ok, f"after fail-back the platform is not healthy: {check.checks}"
