"""``LabStatus``: what ``drdrill lab status --json`` prints, as the lab contract names it."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["LabStatus"]


class LabStatus(dict[str, Any]):
    """The lab's status: a JSON object (``running``, ``edge``, ``regions``,
    ``replication``, ``edge_records``...). A dict, so ``status["regions"]`` reads as
    the JSON does; ``to_json()`` is exactly the CLI's ``--json`` output."""

    @property
    def running(self) -> bool:
        return bool(self.get("running"))

    @property
    def edge(self) -> str:
        return str(self.get("edge", ""))

    def role(self, region: str) -> str:
        """The region's database role: primary, standby or down."""
        return str(self["regions"][region]["db"]["role"])

    def failure(self, region: str) -> str | None:
        """The region's active failure mode, or None."""
        failure = self["regions"][region]["failure"]
        return None if failure is None else str(failure)

    def to_json(self) -> str:
        return json.dumps(self, indent=2)
