"""Starting the lab's own processes (order-service workers, gateways, the edge) and
waiting until they answer.

Each runs in its own session with a pid file in the lab's ``pids/`` and the lab's
marker in its environment (``drdrill.lab.processes``), so ``down`` finds it
whatever happened to the process that started it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any

from drdrill.errors import LabError
from drdrill.lab.processes import spawn
from drdrill.lab.topology import MAX_WORKERS, Topology
from drdrill.support.http import call
from drdrill.support.wait import poll, wait_until

__all__ = [
    "backends",
    "spawn_edge",
    "spawn_gateway",
    "spawn_worker",
    "wait_answering",
    "wait_listening",
]


def _spawn(
    topology: Topology, name: str, argv: list[str], env: dict[str, str] | None = None
) -> None:
    spawn(
        name,
        argv,
        env=env,
        pid_dir=topology.pid_dir,
        marker=str(topology.dir),
        log_path=topology.log_dir / f"{name}.log",
    )


def spawn_worker(topology: Topology, region: str, index: int, dsn: str) -> None:
    """Start order-service worker ``index`` of ``region`` on the database ``dsn``."""
    port = topology.ports.worker(region, index)
    _spawn(
        topology,
        f"app-{region}-{index}",
        [
            sys.executable,
            "-m",
            "drdrill.lab.order_service",
            "--region",
            region,
            "--port",
            str(port),
            "--dsn",
            dsn,
        ],
    )


def spawn_gateway(topology: Topology, region: str) -> None:
    """Start ``region``'s gateway: the route into each worker slot and into the database."""
    ports = topology.ports
    routes = [
        f"{ports.gateway_worker(region, i)}:{ports.worker(region, i)}" for i in range(MAX_WORKERS)
    ]
    routes.append(f"{ports.gateway_database(region)}:{ports.database(region)}")
    env = {
        **os.environ,
        "DRDRILL_GATEWAY_STATE": str(topology.gateway_state(region)),
        "DRDRILL_GATEWAY_CONTROL": str(topology.gateway_control(region)),
    }
    _spawn(topology, f"gw-{region}", [sys.executable, "-m", "drdrill.lab.gateway", *routes], env)


def backends(topology: Topology, region: str, workers: int) -> list[str]:
    """The URLs the edge routes ``region``'s traffic to: its workers, through its gateway."""
    return [topology.gateway_url(region, i) for i in range(workers)]


def spawn_edge(topology: Topology, config: dict[str, Any]) -> None:
    """Start the edge (failover DNS records + health checks + routing) with ``config``."""
    path = topology.dir / "edge.json"
    path.write_text(json.dumps(config))
    _spawn(
        topology,
        "edge",
        [
            sys.executable,
            "-m",
            "drdrill.lab.edge",
            "--config",
            str(path),
            "--port",
            str(topology.ports.edge),
        ],
    )


def wait_answering(urls: Sequence[str], timeout: float = 20.0) -> None:
    """Wait until every URL gives an HTTP answer (any status: a worker whose database is
    down answers 503, and it does serve); ``LabError`` naming the silent ones."""
    pending = list(urls)

    def answered() -> bool:
        nonlocal pending
        pending = [u for u in pending if call("GET", u, timeout=3.0).status == 0]
        return not pending

    if poll(lambda: answered() or None, timeout) is None:
        raise LabError(f"not answering after {timeout}s: {', '.join(pending)}")


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def wait_listening(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    wait_until(lambda: _accepts(port), timeout, f"port {port} to accept", error=LabError)
