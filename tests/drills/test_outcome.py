"""How a drill ended: the same truth pytest reports — every check, the rollback, an abort."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from drdrill.errors import ActivationFailed, CapabilityMissing, DrillAborted, LabError
from drdrill.orchestration.drill import outcome_of
from drdrill.orchestration.outcome import ending_error
from tests.report.drill_data import summary


def test_a_drill_whose_checks_and_rollback_pass_passed(tmp_path: Path) -> None:
    assert outcome_of(None, summary(tmp_path)) == "passed"


def test_a_failed_then_step_fails_the_drill_even_when_rto_and_rpo_pass(tmp_path: Path) -> None:
    breach = AssertionError("RPO breach: 181 acknowledged writes lost")
    assert outcome_of(breach, summary(tmp_path)) == "failed"


def test_a_write_acknowledged_after_the_fault_and_lost_fails_the_drill(tmp_path: Path) -> None:
    passed = summary(tmp_path)
    ledger = dataclasses.replace(passed.measurements.ledger, lost_after_fault=1)
    split = dataclasses.replace(
        passed, measurements=dataclasses.replace(passed.measurements, ledger=ledger)
    )
    assert outcome_of(None, split) == "failed"


def test_writes_discarded_by_a_restore_to_before_the_fault_do_not_fail_the_drill(
    tmp_path: Path,
) -> None:
    passed = summary(tmp_path)
    ledger = dataclasses.replace(passed.measurements.ledger, discarded_by_restore=185)
    repaired = dataclasses.replace(
        passed, measurements=dataclasses.replace(passed.measurements, ledger=ledger)
    )
    assert outcome_of(None, repaired) == "passed"


def test_a_rollback_that_did_not_complete_fails_the_drill(tmp_path: Path) -> None:
    assert outcome_of(None, summary(tmp_path), LabError("fail back cut off")) == "failed"


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (KeyboardInterrupt("signal 15"), "aborted"),
        (DrillAborted("stop condition: error rate"), "aborted"),
        (ActivationFailed("phase database_promotion failed"), "failed"),
        (LabError("the lab is not up"), "error"),
        (CapabilityMissing("target 'aws' cannot simulate ransomware"), "skipped"),
    ],
)
def test_what_ended_a_drill_before_its_verdict(error: BaseException, outcome: str) -> None:
    assert outcome_of(error, None) == outcome


def test_a_drill_that_never_measured_anything_did_not_pass() -> None:
    assert outcome_of(None, None) == "error"


def test_a_drill_with_nothing_to_measure_is_judged_by_its_scenarios_checks() -> None:
    # a backup's integrity check: no customers observed through a fault, the restore
    # matched its census
    assert outcome_of(None, None, measurable=False) == "passed"
    assert outcome_of(AssertionError("restore does not match"), None, measurable=False) == (
        "failed"
    )
    assert outcome_of(None, None, LabError("fail back"), measurable=False) == "failed"


@pytest.mark.parametrize(
    "after_the_press",
    [
        None,
        KeyboardInterrupt("SIGTERM received"),
        ActivationFailed("phase dns_failover failed: interrupted"),
        AssertionError("RTO breach: service never restored"),
    ],
)
def test_a_drill_whose_stop_button_was_pressed_was_aborted_whatever_broke_after(
    tmp_path: Path, after_the_press: BaseException | None
) -> None:
    error = ending_error(after_the_press, "SIGTERM received")
    assert isinstance(error, DrillAborted)
    assert outcome_of(error, summary(tmp_path)) == "aborted"
    assert "SIGTERM received" in str(error)
    if after_the_press is not None and not isinstance(after_the_press, KeyboardInterrupt):
        assert type(after_the_press).__name__ in str(error)


def test_an_unpressed_stop_button_changes_nothing() -> None:
    failed = ActivationFailed("phase database_promotion failed")
    assert ending_error(failed, None) is failed
    assert ending_error(None, None) is None
