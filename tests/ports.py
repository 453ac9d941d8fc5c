"""Ports for the suite's servers, so test modules never share one, also under pytest-xdist.

Each xdist worker (``gw0``, ``gw1``...) owns a range of its own; within it, every call of
``port_block`` hands out the next block of ``BLOCK`` ports. A lab uses ``base .. base+79``
(``drdrill.lab.topology.Ports``), which leaves ``base+80 .. base+99`` of a block for what
runs beside it (moto, the Kubernetes emulators, a Locust master). Everything stays below
the kernel's ephemeral range (32768+), where a client socket could take a port first.
"""

from __future__ import annotations

import itertools
import os

__all__ = ["BLOCK", "port_block", "worker_number"]

FIRST_PORT = 12000
WORKER_SPAN = 3000
BLOCK = 100
_MAX_WORKERS = 4  # up to 23999: below 32768, and clear of the lab's default base port 24300

_blocks = itertools.count()


def worker_number() -> int:
    """0 for ``gw0`` or a run without xdist, 1 for ``gw1``..."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = int(name.removeprefix("gw"))
    if number >= _MAX_WORKERS:
        raise RuntimeError(f"tests/ports.py plans ports for {_MAX_WORKERS} workers, not {name}")
    return number


def port_block() -> int:
    """The first port of a block of ``BLOCK`` ports no other caller in this run gets."""
    index = next(_blocks)
    if index >= WORKER_SPAN // BLOCK:
        raise RuntimeError(f"tests/ports.py: more than {WORKER_SPAN // BLOCK} port blocks asked")
    return FIRST_PORT + worker_number() * WORKER_SPAN + index * BLOCK
