"""One factory for every AWS and Kubernetes client of a target (nothing at import time).

boto3 clients: one per (service, region), botocore retries in **adaptive** mode with
the profile's attempt budget, connect/read timeouts, and the endpoint from the profile
(the service's own in ``service_endpoints``, else ``endpoint_url``) or, when it has
none, boto3's own resolution (which honours ``AWS_ENDPOINT_URL``).
Kubernetes: one ``AppsV1Api`` per kube context, built on first use.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from drdrill.errors import TargetError
from drdrill.targets.aws.profile import AwsProfile

__all__ = ["Clients", "KubeApps", "waiter_config"]


def waiter_config(timeout_s: float, poll_s: float) -> dict[str, int]:
    """A botocore ``WaiterConfig`` that gives up after about ``timeout_s``."""
    delay = max(1, round(poll_s))
    return {"Delay": delay, "MaxAttempts": max(1, int(timeout_s // delay) or 1)}


class KubeApps:
    """The ``AppsV1Api`` of one kube context, built when a method is first used: a dry
    run names its Kubernetes calls without ever loading the kubeconfig."""

    def __init__(self, clients: Clients, context: str) -> None:
        self.clients = clients
        self.context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self.clients.apps(self.context), name)


class Clients:
    """boto3 clients per (service, region) and Kubernetes clients per context."""

    def __init__(self, profile: AwsProfile, session: boto3.session.Session | None = None) -> None:
        """``session``: boto3's default chain unless given (the AWS twin gives one holding
        its emulator's placeholder credentials, so no real credential ever leaves)."""
        self.profile = profile
        self._session = session or boto3.session.Session()
        self._config = Config(
            retries={"mode": "adaptive", "total_max_attempts": profile.max_attempts},
            connect_timeout=profile.connect_timeout_s,
            read_timeout=profile.read_timeout_s,
        )
        self._lock = threading.Lock()
        self._aws: dict[tuple[str, str], Any] = {}
        self._apps: dict[str, Any] = {}

    def aws(self, service: str, region: str) -> Any:
        """The boto3 client of ``service`` in ``region`` (cached)."""
        with self._lock:
            key = (service, region)
            if key not in self._aws:
                self._aws[key] = self._session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    config=self._config,
                    endpoint_url=self.profile.service_endpoints.get(
                        service, self.profile.endpoint_url
                    ),
                )
            return self._aws[key]

    def apps(self, context: str) -> Any:
        """The Kubernetes ``AppsV1Api`` of kube context ``context`` (cached)."""
        with self._lock:
            if context not in self._apps:
                self._apps[context] = self._new_apps(context)
            return self._apps[context]

    def kube_apps(self, context: str) -> KubeApps:
        """The ``AppsV1Api`` of ``context``, loaded on first use (see ``KubeApps``)."""
        return KubeApps(self, context)

    def _new_apps(self, context: str) -> Any:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        kubeconfig = self.profile.kubeconfig
        try:
            api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(kubeconfig) if kubeconfig else None, context=context
            )
        except (ConfigException, OSError) as exc:
            raise TargetError(
                f"cannot load kube context {context!r} from {kubeconfig or '~/.kube/config'}: "
                f"{exc}",
                resource=context,
            ) from exc
        return client.AppsV1Api(api_client)
