"""Ports for the suite's servers, so test modules never share one, also under pytest-xdist.

The ports ``FIRST_PORT .. LAST_PORT`` are split evenly between the run's xdist workers
(``gw0``, ``gw1``...; one range for a run without xdist); within its range, every call of
``port_block`` hands out the next block of ``BLOCK`` ports. A lab uses ``base .. base+79``
(``drdrill.lab.topology.Ports``), which leaves ``base+80 .. base+99`` of a block for what
runs beside it (moto, the Kubernetes emulators, a Locust master). Everything stays below
the kernel's ephemeral range (32768+), where a client socket could take a port first, and
clear of the lab's default ports (base 24300), which a developer's own lab may hold.
"""

from __future__ import annotations

import itertools
import os

__all__ = ["BLOCK", "port_block", "worker_number"]

FIRST_PORT = 12000
LAST_PORT = 32000
BLOCK = 100
_DEFAULT_LAB = range(24300, 24400)

_blocks = itertools.count()


def worker_number() -> int:
    """0 for ``gw0`` or a run without xdist, 1 for ``gw1``..."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def _workers() -> int:
    return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def port_block() -> int:
    """The first port of a block of ``BLOCK`` ports no other caller in this run gets."""
    span = (LAST_PORT - FIRST_PORT) // _workers() // BLOCK * BLOCK
    start = FIRST_PORT + worker_number() * span
    while True:
        base = start + next(_blocks) * BLOCK
        if base + BLOCK > start + span:
            raise RuntimeError(
                f"tests/ports.py: worker {worker_number()} used all {span // BLOCK} port blocks"
            )
        if base not in _DEFAULT_LAB:
            return base
