"""The embedded two-region lab: a real e-commerce platform on one machine.

``Lab`` is the library API; ``drdrill lab ...`` is a thin layer over it. The lab
imports nothing of the drill harness (targets, verification, configuration):
it takes its own ``LabSettings`` and the harness adapts to it.

The names below load on first use: the lab's own processes (order-service workers,
the edge, the replicator) are started as ``python -m drdrill.lab.<module>`` and must not
pay for the whole lab's import graph — a DR worker's start-up is on the RTO's path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drdrill.lab.platform import Lab
    from drdrill.lab.settings import LabSettings
    from drdrill.lab.status import LabStatus
    from drdrill.lab.topology import Ports

__all__ = ["Lab", "LabSettings", "LabStatus", "Ports"]

_HOMES = {
    "Lab": "drdrill.lab.platform",
    "LabSettings": "drdrill.lab.settings",
    "LabStatus": "drdrill.lab.status",
    "Ports": "drdrill.lab.topology",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'drdrill.lab' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
