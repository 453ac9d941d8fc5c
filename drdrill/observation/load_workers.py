"""Locust's distributed mode: one master, the workers that attach to it.

With ``load.workers: N`` (N != 1) or ``load.remote_workers`` a load run is a Locust
``--master`` waiting for its workers: ``master_options`` are the master's extra command-line
options, ``local_worker_argv`` what each local worker runs, ``remote_worker_argv`` what a
worker on another machine runs, and ``check_master_port`` refuses a port the master
could not bind before anything starts. The local workers send their lines to the master
and write no file, so their environment drops ``RECORD_FILES``.
"""

from __future__ import annotations

import math
import socket
import sys
from pathlib import Path

from drdrill.config import LoadSettings
from drdrill.errors import LoadError

__all__ = [
    "RECORD_FILES",
    "check_master_port",
    "local_worker_argv",
    "master_options",
    "remote_worker_argv",
]

_WILDCARDS = {"", "*", "0.0.0.0", "::"}
RECORD_FILES = {"DRDRILL_REQUESTS_JSONL", "DRDRILL_LEDGER_JSONL"}
"""The environment that tells a Locust process where to write its lines (the master's alone)."""


def master_options(settings: LoadSettings) -> list[str]:
    """The options that make the first Locust process the master of a distributed run."""
    return [
        "--master",
        "--master-bind-host",
        settings.master_host,
        "--master-bind-port",
        str(settings.master_port),
        "--expect-workers",
        str(settings.expected_workers),
        "--expect-workers-max-wait",
        str(max(1, math.ceil(settings.workers_wait))),
    ]


def local_worker_argv(settings: LoadSettings, locustfile: Path) -> list[str]:
    """The command line of each local worker."""
    host = settings.master_host
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--worker",
        "--master-host",
        "127.0.0.1" if host in _WILDCARDS else host,
        "--master-port",
        str(settings.master_port),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]


def remote_worker_argv(
    settings: LoadSettings, master_address: str, locustfile: str = "locustfile.py"
) -> list[str]:
    """What a worker on another machine runs to join the master at ``master_address`` (the
    address that machine reaches the master by). It needs the same locustfile and nothing
    else: the options come from the master."""
    return [
        "locust",
        "-f",
        locustfile,
        "--worker",
        "--master-host",
        master_address,
        "--master-port",
        str(settings.master_port),
    ]


def check_master_port(settings: LoadSettings) -> None:
    """LoadError unless the master could bind ``load.master_host:load.master_port``."""
    host = settings.master_host
    address = "127.0.0.1" if host in _WILDCARDS else host
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, settings.master_port))
        except OSError as exc:
            raise LoadError(
                f"load.master_port {settings.master_port} on {host}: cannot bind "
                f"({exc.strerror}); expected a free port for the Locust master"
            ) from exc
