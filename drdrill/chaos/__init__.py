"""drdrill's Chaos Toolkit extension: activities (``actions``, ``probes``) and a control.

``aws`` holds the two probes the plain chaostoolkit-aws experiment
(``aws-region-failure.json``) needs and chaostoolkit-aws lacks: the account/confirm
interlock and Route 53's health rule as a tolerance.

Activities reach the drill (target, timeline) through the experiment's
``drill`` configuration key, which the drill overrides with a ``ChaosContext``.
Run by plain ``chaos run`` (no drill), they build the target from the
``drill_config`` and ``target`` configuration keys instead.
"""

from __future__ import annotations

from chaoslib.discovery.discover import (
    discover_actions,
    discover_probes,
    initialize_discovery_result,
)

from drdrill import __version__

__all__ = ["discover"]


def discover(discover_system: bool = True) -> dict[str, object]:
    """What ``chaos discover drdrill`` lists."""
    discovery: dict[str, object] = initialize_discovery_result("drdrill", __version__, "drdrill")
    activities = discovery["activities"]
    assert isinstance(activities, list)
    activities.extend(discover_actions("drdrill.chaos.actions"))
    activities.extend(discover_probes("drdrill.chaos.probes"))
    activities.extend(discover_probes("drdrill.chaos.aws"))
    return discovery
