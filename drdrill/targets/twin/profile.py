"""Configuration of the AWS twin (``targets.<name>`` with ``kind: aws-twin``).

The twin is a local seam: the lab's data plane behind an emulated AWS control plane
(moto in server mode, a Kubernetes API emulator per cluster), all on 127.0.0.1. A
built-in profile named ``aws-twin`` exists without any configuration; a profile of
this kind only moves the emulators' ports or picks the failure method.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drdrill.support.durations import Seconds

__all__ = ["AwsTwinProfile"]


def _kube_ports() -> dict[Literal["primary", "dr"], int]:
    return {"primary": 23601, "dr": 23602}


class AwsTwinProfile(BaseModel):
    """The lab drilled through the aws target's calls (``docs/aws-twin.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["aws-twin"] = "aws-twin"
    moto_port: int = Field(23600, ge=1024, le=32767)
    """The emulated AWS control plane (moto in server mode) on 127.0.0.1."""
    kube_ports: dict[Literal["primary", "dr"], int] = Field(default_factory=_kube_ports)
    """One Kubernetes API emulator per region's EKS cluster, on 127.0.0.1."""
    failure_method: Literal["scale-nodegroups", "fis"] = "scale-nodegroups"
    """How the aws target fails a region (what the twin's controller watches for)."""
    follow_interval: Seconds = Field(0.1, gt=0, le=5)
    """How often the twin's controller reads the control plane while a step waits on it
    (a rollout's readiness); it also follows right after every step."""
    follow_timeout: Seconds = Field(60.0, gt=0)
    """How long one lab action that follows the control plane may take."""
    switchover_outage: Seconds = Field(4.0, gt=0)
    """The planned switchover's customer-visible outage goal on the twin, instead of
    ``failback.switchover_outage`` (the lab's): the lab's fence, promotion and repoint,
    plus the aws target's protocol around them as the twin plays it — the lab follows the
    fence once the trail shows it, the aws target promotes only after a ``ReplicaLag``
    datapoint of 0 in a whole second after its fence (up to 1 s later here; CloudWatch's
    minute on AWS), and the lab promotes once the trail shows that."""

    @model_validator(mode="after")
    def _ports(self) -> AwsTwinProfile:
        ports = [self.moto_port, *self.kube_ports.values()]
        if set(self.kube_ports) != {"primary", "dr"}:
            raise ValueError("kube_ports needs exactly the regions primary and dr")
        if len(set(ports)) != len(ports) or any(not 1024 <= p <= 32767 for p in ports):
            raise ValueError(
                f"moto_port and kube_ports must be distinct ports 1024..32767, got {ports}"
            )
        return self
