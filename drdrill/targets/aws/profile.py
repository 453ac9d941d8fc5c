"""Configuration of an AWS target profile (``targets.<name>`` with ``kind: aws``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AwsProfile", "AwsRegion"]


class AwsRegion(BaseModel):
    """One side of the platform: where it runs and what it is made of."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """The AWS region, e.g. us-east-1."""
    kube_context: str | None = None


class AwsProfile(BaseModel):
    """An AWS platform drdrill may drill, with its safety allow-list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["aws"] = "aws"
    allowed_account_ids: tuple[str, ...] = Field(min_length=1)
    regions: dict[str, AwsRegion]
    """Logical region name (``primary``, ``dr``) to its AWS side."""
