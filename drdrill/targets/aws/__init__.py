"""The AWS + Kubernetes target (boto3 and the kubernetes client), behind safety interlocks.

``AwsTarget`` is the target, ``profile`` its configuration. ``drdrill.config``
imports ``profile``, so this package imports nothing else eagerly: ``AwsTarget``
is loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drdrill.targets.aws.target import AwsTarget

__all__ = ["AwsTarget"]


def __getattr__(name: str) -> Any:
    if name == "AwsTarget":
        from drdrill.targets.aws.target import AwsTarget

        return AwsTarget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
