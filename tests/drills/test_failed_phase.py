"""A failed activation phase ends the activation: nothing after it runs, the drill fails
naming that phase, and the platform is rolled back (on the real lab)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.errors import DrillError
from drdrill.lab import Lab
from drdrill.orchestration.drill import Drill
from drdrill.records.timeline import PHASE_START
from tests.lab.conftest import lab_config

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_a_failed_promotion_ends_the_activation(tmp_path: Path) -> None:
    config, _ = lab_config(25900)
    config = config.model_copy(update={"reports_dir": tmp_path / "reports"})
    drill = Drill(config, kind="full")
    try:
        drill.prepare()
        drill.inject("primary", "power-off")
        drill.target.promote_database("dr")  # the activation's own promotion now fails

        with pytest.raises(DrillError, match="phase database_promotion failed"):
            drill.activate()

        started = [e.name for e in drill.timeline.events(PHASE_START)]
        assert started == ["assessment", "dns_failover", "scale_dr", "database_promotion"]
    finally:
        drill.close()
        Lab(config.lab).down()
