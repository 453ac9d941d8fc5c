"""Split brain in the lab: the in-region client group, and what the old primary wrote after DR
was promoted.

Definitions used here:

- **in-region client group** — ``drdrill.lab.in_region_clients``, started when a region is
  partitioned: orders placed through the region's own workers, each acknowledged one
  appended to the region's **in-region ledger** (``in-region-<region>.jsonl`` in the state
  dir: ``id``, ``sent_ns``, ``ack_ns``). A process of the lab like any other: in its own
  session, a pid file, the lab's marker; it stops by itself (count and time bounds).
- **promotion** — ``LabState.promoted_ns``: when the lab saw the promoted database take its
  first write.
- **divergent write** — an order acknowledged to an in-region client (the ledger) that the
  old primary committed after the promotion (its commit timestamp, ``track_commit_timestamp``)
  and that the promoted database does not hold. The rewind of the old primary discards it:
  customers were told it succeeded, and it is gone. An in-region write committed before
  the promotion and absent from the promoted database was lost to the disaster (the RPO's
  business), not divergent.

``count_divergence`` reads both databases directly, so it must run before the old
primary is rewound, and after it is fenced (nothing may commit while it counts).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drdrill.errors import LabError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.processes import kill_recorded, recorded, spawn, wait_gone
from drdrill.lab.settings import LabSettings
from drdrill.lab.state import LabState
from drdrill.lab.topology import OTHER, Topology
from drdrill.support import jsonl

__all__ = [
    "Divergence",
    "DivergentWrite",
    "InRegionAck",
    "count_divergence",
    "divergent_writes",
    "in_region_acks",
    "in_region_ledger",
    "load_divergence",
    "start_in_region_clients",
    "stop_in_region_clients",
]


@dataclass(frozen=True)
class InRegionAck:
    """One order an in-region client was told succeeded."""

    id: str
    sent_ns: int
    ack_ns: int


@dataclass(frozen=True)
class DivergentWrite:
    """One divergent write (module docstring): acknowledged, then discarded by the rewind."""

    id: str
    ack_ns: int
    committed_ns: int
    """When the old primary committed it (its commit timestamp, microsecond precision)."""


@dataclass(frozen=True)
class Divergence:
    """What the old primary of ``region`` held that the promoted ``serving`` database did
    not, counted after the fence and before the rewind."""

    region: str
    serving: str
    promoted_ns: int | None
    """None: no promotion happened, so nothing can diverge."""
    acknowledged: int
    """In-region orders acknowledged during the partition, divergent or not."""
    writes: tuple[DivergentWrite, ...]
    counted_ns: int

    @property
    def count(self) -> int:
        return len(self.writes)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "writes": [asdict(w) for w in self.writes]}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Divergence:
        return cls(
            region=str(raw["region"]),
            serving=str(raw["serving"]),
            promoted_ns=None if raw["promoted_ns"] is None else int(raw["promoted_ns"]),
            acknowledged=int(raw["acknowledged"]),
            writes=tuple(
                DivergentWrite(str(w["id"]), int(w["ack_ns"]), int(w["committed_ns"]))
                for w in raw["writes"]
            ),
            counted_ns=int(raw["counted_ns"]),
        )


def divergent_writes(
    acks: Sequence[InRegionAck],
    committed_on_old: Mapping[str, int],
    present_on_new: Collection[str],
    promoted_ns: int | None,
) -> tuple[DivergentWrite, ...]:
    """The divergent writes among ``acks`` (module docstring), in acknowledgement order:
    ``committed_on_old`` maps an id the old primary holds to its commit time (ns),
    ``present_on_new`` the ids the promoted database holds."""
    if promoted_ns is None:
        return ()
    found = [
        DivergentWrite(a.id, a.ack_ns, committed_on_old[a.id])
        for a in acks
        if a.id in committed_on_old
        and committed_on_old[a.id] > promoted_ns
        and a.id not in present_on_new
    ]
    return tuple(sorted(found, key=lambda w: (w.ack_ns, w.id)))


# -- the in-region client group ------------------------------------------------


def in_region_ledger(topology: Topology, region: str) -> Path:
    """The region's in-region ledger (JSONL, one acknowledged order a line)."""
    return topology.dir / f"in-region-{region}.jsonl"


def _divergence_file(topology: Topology, region: str) -> Path:
    return topology.dir / f"split-brain-{region}.json"


def _clients(region: str) -> str:
    return f"clients-{region}"


def start_in_region_clients(
    topology: Topology, settings: LabSettings, state: LabState, region: str
) -> None:
    """Start the region's in-region client group on its workers, with a fresh ledger
    (nothing when ``in_region_clients`` is 0)."""
    if settings.in_region_clients == 0:
        return
    ledger = in_region_ledger(topology, region)
    ledger.unlink(missing_ok=True)
    _divergence_file(topology, region).unlink(missing_ok=True)
    urls = [topology.worker_url(region, i) for i in range(state.workers[region])]
    name = _clients(region)
    spawn(
        name,
        [
            sys.executable,
            "-m",
            "drdrill.lab.in_region_clients",
            *("--region", region, "--ledger", str(ledger)),
            *(arg for url in urls for arg in ("--url", url)),
            *("--clients", str(settings.in_region_clients)),
            *("--interval", str(settings.in_region_interval)),
            *("--max-orders", str(settings.in_region_max_orders)),
            *("--max-seconds", str(settings.in_region_max_seconds)),
        ],
        pid_dir=topology.pid_dir,
        log_path=topology.log_dir / f"{name}.log",
        marker=str(topology.dir),
    )


def stop_in_region_clients(topology: Topology, region: str, timeout: float = 5.0) -> None:
    """Stop the region's client group: SIGTERM (each client finishes and records the
    request in flight), then SIGKILL of its process group if it has not ended in time."""
    name = _clients(region)
    pid = recorded(topology.pid_dir).get(name)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        wait_gone([pid], timeout)
    kill_recorded(topology.pid_dir, [name])


def in_region_acks(topology: Topology, region: str) -> tuple[InRegionAck, ...]:
    """Every order of the region's in-region ledger (a torn last line is skipped)."""
    lines = jsonl.read(in_region_ledger(topology, region))
    acks = []
    for raw in lines.records:
        try:
            acks.append(InRegionAck(str(raw["id"]), int(raw["sent_ns"]), int(raw["ack_ns"])))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(acks)


# -- counting ------------------------------------------------------------------

_COMMITTED_US = (
    "SELECT id, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint "
    "FROM orders WHERE id = ANY(%s)"
)


def count_divergence(topology: Topology, state: LabState, region: str) -> Divergence:
    """Count ``region``'s divergent writes from its in-region ledger and both databases,
    read directly (module docstring); saved beside the ledger for ``load_divergence``.
    ``LabError`` when a database cannot be read (the count would be a guess)."""
    serving = OTHER[region]
    acks = in_region_acks(topology, region)
    ids = [a.id for a in acks]
    databases = LabDatabases.of(topology, state)
    old_rows = databases.region(region).query(_COMMITTED_US, (ids,))
    new_rows = databases.region(serving).query("SELECT id FROM orders WHERE id = ANY(%s)", (ids,))
    committed = {str(i): int(us) * 1000 for i, us in old_rows if us is not None}
    promoted_ns = state.promoted_ns if serving in state.promoted else None
    divergence = Divergence(
        region,
        serving,
        promoted_ns,
        len(acks),
        divergent_writes(acks, committed, {str(r[0]) for r in new_rows}, promoted_ns),
        time.time_ns(),
    )
    path = _divergence_file(topology, region)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(divergence.to_json(), indent=2))
    tmp.replace(path)
    return divergence


def load_divergence(topology: Topology, region: str) -> Divergence | None:
    """The divergence counted when ``region``'s partition last healed (None: none counted)."""
    try:
        return Divergence.from_json(json.loads(_divergence_file(topology, region).read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabError(f"cannot read {_divergence_file(topology, region)}: {exc}") from exc
