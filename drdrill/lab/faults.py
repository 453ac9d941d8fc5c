"""Region failures in the lab: power-off, blackhole, partition, and restoring a region.

- power-off: the region's processes are killed (its database with ``-9``).
- blackhole: the region's processes are frozen (SIGSTOP): connections hang.
- partition: the gateways cut every route into and out of the region, and the
  other region's route only the partitioned region uses (its database port). Inside
  the region life goes on: its in-region client group keeps placing orders through its
  own workers (``drdrill.lab.split_brain``), so once DR is promoted both sides write.

Restoring a partitioned region whose database was superseded by a promoted standby
fences that old primary first (it keeps running, refusing writes), then stops the
in-region clients and counts the divergent writes from both databases, and only then
heals the network: nothing it acknowledged after the promotion goes uncounted, and
nothing commits there once traffic can come back.
"""

from __future__ import annotations

import json
import signal

from drdrill.errors import LabError
from drdrill.lab.databases import LabDatabases
from drdrill.lab.fencing import fence_writes
from drdrill.lab.launch import (
    spawn_gateway,
    spawn_worker,
    wait_answering,
)
from drdrill.lab.lifecycle import require_up
from drdrill.lab.pg_cleanup import cleanup_stale
from drdrill.lab.processes import kill_recorded, signal_recorded
from drdrill.lab.settings import LabSettings
from drdrill.lab.split_brain import (
    count_divergence,
    start_in_region_clients,
    stop_in_region_clients,
)
from drdrill.lab.state import LabState, save_state
from drdrill.lab.topology import FAILURE_MODES, MAX_WORKERS, OTHER, REGIONS, Topology, check_region
from drdrill.support.wait import wait_until

__all__ = ["apply_cuts", "fail_region", "gateway_cuts", "restore_region"]


def _region_processes(state: LabState, region: str) -> list[str]:
    workers = [f"app-{region}-{i}" for i in range(state.workers[region])]
    return [*workers, f"pg-{region}", f"gw-{region}"]


def fail_region(
    topology: Topology, region: str, mode: str, settings: LabSettings | None = None
) -> None:
    """Inject a region failure: power-off, blackhole or partition (with ``settings``, a
    partition starts the region's in-region client group)."""
    check_region(region)
    if mode not in FAILURE_MODES:
        raise LabError(f"unknown failure mode {mode!r}; expected one of {', '.join(FAILURE_MODES)}")
    state = require_up(topology)
    if state.failures[region]:
        raise LabError(f"region {region} has already failed ({state.failures[region]})")
    # noted first: a caller stopped half-way leaves a failure that restore_region undoes
    # (restoring a failure not, or not fully, in force is harmless), never one unnoted
    save_state(topology.state_file, state.with_failure(region, mode))
    if mode == "power-off":
        kill_recorded(topology.pid_dir, _region_processes(state, region))
        cleanup_stale(topology.data_dir(region))
    elif mode == "blackhole":
        signal_recorded(topology.pid_dir, _region_processes(state, region), signal.SIGSTOP)
    else:
        apply_cuts(topology, {**state.failures, region: mode})
        if settings is not None:
            start_in_region_clients(topology, settings, state, region)


def restore_region(topology: Topology, region: str) -> None:
    """Undo ``fail_region``. A database whose role was taken over by a promoted standby
    never takes a write again, whatever the failure: after a blackhole it is killed
    before the region comes back (a write held in a frozen process would commit there,
    and be acknowledged, after the promotion); after a partition it is fenced, and its
    divergent writes counted, before the network heals (module docstring)."""
    check_region(region)
    state = require_up(topology)
    mode = state.failures[region]
    if mode is None:
        return
    superseded = region == "primary" and "dr" in state.promoted
    if superseded and mode == "blackhole":
        LabDatabases.of(topology, state).region(region).kill()
    if mode == "partition":
        _settle_partition(topology, state, region, superseded)
    if mode == "blackhole":
        signal_recorded(topology.pid_dir, _region_processes(state, region), signal.SIGCONT)
    elif mode == "power-off":
        # whatever a power-off stopped half-way left running goes first (its database
        # killed as the power-off would have: committed data is on disk)
        kill_recorded(topology.pid_dir, _region_processes(state, region))
        cleanup_stale(topology.data_dir(region))
        topology.gateway_state(region).unlink(missing_ok=True)
        spawn_gateway(topology, region)
        wait_until(
            lambda: _gateway_reports(topology, region) is not None,
            10,
            f"the {region} gateway",
            error=LabError,
        )
        if not superseded:
            LabDatabases.of(topology, state).region(region).start()
        dsn = topology.app_dsn(region, state.database_of[region])
        for i in range(state.workers[region]):
            spawn_worker(topology, region, i, dsn)
        wait_answering(
            [f"{topology.worker_url(region, i)}/health" for i in range(state.workers[region])]
        )
    state = state.with_failure(region, None)
    apply_cuts(topology, state.failures)  # this region's gateway, and the other's
    save_state(topology.state_file, state)


def _settle_partition(topology: Topology, state: LabState, region: str, superseded: bool) -> None:
    """Before a partition heals: fence a superseded old primary, stop the in-region
    clients (their last answers recorded), count what diverged. An old primary that no
    longer runs is only made sure of (killed): it commits nothing, and holds nothing
    that can be read before its rewind."""
    old = LabDatabases.of(topology, state).region(region)
    if not old.is_running():
        old.kill()
        stop_in_region_clients(topology, region)
        return
    if superseded:
        with old.connect("postgres") as conn:
            fence_writes(conn)
    stop_in_region_clients(topology, region)
    count_divergence(topology, state, region)


def gateway_cuts(topology: Topology, failures: dict[str, str | None]) -> dict[str, list[int]]:
    """Which routes each gateway cuts for the partitions in ``failures``.

    A partitioned region's gateway cuts everything (the edge and the other region
    no longer reach its workers or database); the other region's gateway cuts its
    database route, the one only the partitioned region uses (its standby's
    replication, its workers pointed across regions)."""
    ports = topology.ports
    cuts: dict[str, list[int]] = {}
    for region in REGIONS:
        if failures.get(region) == "partition":
            workers = [ports.gateway_worker(region, i) for i in range(MAX_WORKERS)]
            cuts[region] = sorted([*workers, ports.gateway_database(region)])
        elif failures.get(OTHER[region]) == "partition":
            cuts[region] = [ports.gateway_database(region)]
        else:
            cuts[region] = []
    return cuts


def _gateway_reports(topology: Topology, region: str) -> str | None:
    try:
        return topology.gateway_state(region).read_text()
    except OSError:
        return None


def apply_cuts(topology: Topology, failures: dict[str, str | None]) -> None:
    """Bring every live gateway to the cuts ``failures`` call for; wait until in force.

    Gateways of a powered-off or frozen region are left alone: they get their cuts
    when the region is restored."""
    for region, ports in gateway_cuts(topology, failures).items():
        if failures.get(region) in ("power-off", "blackhole"):
            continue
        want = json.dumps(ports)
        control = topology.gateway_control(region)
        tmp = control.with_suffix(".tmp")
        tmp.write_text(want)
        tmp.replace(control)
        signal_recorded(topology.pid_dir, [f"gw-{region}"], signal.SIGUSR1)
        wait_until(
            lambda r=region, w=want: _gateway_reports(topology, r) == w,  # type: ignore[misc]
            5,
            f"the {region} gateway to cut {want}",
            error=LabError,
        )
