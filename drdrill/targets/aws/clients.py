"""One factory for every AWS and Kubernetes client of a target (nothing at import time)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from drdrill.targets.aws.profile import AwsProfile

__all__ = ["Clients"]


class Clients:
    """boto3 clients per (service, region) with adaptive retries and timeouts, and a
    kubernetes ApiClient per kube context."""

    def __init__(self, profile: AwsProfile) -> None:
        self.profile = profile
        self._session = boto3.session.Session()
        self._config = Config(
            retries={"mode": "adaptive", "total_max_attempts": profile.max_attempts},
            connect_timeout=5,
            read_timeout=30,
        )
        self.aws = cache(self._aws)
        self.apps = cache(self._apps)

    def _aws(self, service: str, region: str) -> Any:
        return self._session.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            config=self._config,
            endpoint_url=self.profile.endpoint_url,
        )

    def _apps(self, context: str) -> Any:
        from kubernetes import client, config

        api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.profile.kubeconfig) if self.profile.kubeconfig else None,
            context=context,
        )
        return client.AppsV1Api(api_client)
