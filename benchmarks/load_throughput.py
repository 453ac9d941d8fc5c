"""How much load does drdrill put through the lab, and does the RTO stay accurate under it?

Three parts, each bounded (every Locust run has a time limit and is stopped by pid/pgid),
each repeated, medians printed:

1. **Locust alone**: Locust (the drill's locustfile, per-request records and ledger on, as
   in a drill) against a trivial HTTP endpoint this script starts on 127.0.0.1 (one asyncio
   process answering every request with the same 27 bytes), with 1, 2, ... worker processes
   (1 = one plain Locust process; N > 1 = a master and N workers, ``load.workers: N``).
2. **Through the lab's edge, drill-like**: the same load through ``lab.edge_url`` while the
   drill's probes and canary watch the edge (``Observation``), with 1, 2, 3 workers.
3. **RTO error under that load**: outages of known length injected into the primary region
   (``Lab.fail_region`` / ``restore_region``, blackhole and power-off alternating), measured
   with the probes on one primary worker as ``benchmarks/measure_accuracy.py`` does, first
   without load, then with the load of part 2 running through the edge. "error" is the
   measured RTO minus (restore returned - fault); "outside" is how far the RTO falls outside
   the known window [restore called, restore returned + the worker's breaker]. The drill
   counts an answer slower than ``measurement.slow_after`` (100 ms) as a failure, so a
   worker that answers slowly for a while after the restore lengthens the RTO: a real
   degradation, not a measuring error. The last column measures the same samples with
   slow answers not counted, to tell the two apart.

Each figure carries the CPU the Locust processes and the lab's processes used (% of one
core; the machine has ``os.cpu_count()`` cores), how busy the whole machine was, and the
1-minute load average: other work on the machine depresses the figures.

    .venv/bin/python benchmarks/load_throughput.py [--repeats 3] [--seconds 8] [--users 100]
        [--workers 1,2,3] [--rto-workers 2] [--outages 4] [--base-port 24500] [--ports 22700]

``--ports P``: the Locust master on P, the trivial endpoint on P+1. Run it under
``flock /tmp/drdrill-lab.lock`` where labs share a machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from drdrill.config import LabSettings, LoadSettings, MeasurementSettings
from drdrill.lab import Lab
from drdrill.lab.order_service import BREAKER_S
from drdrill.measurement.measure import measure
from drdrill.measurement.samples import CRITICAL_FLOW, Sample
from drdrill.observation.load import LoadRun
from drdrill.observation.observe import Observation
from drdrill.records.timeline import FAULT_INJECTED, Timeline
from drdrill.support.wait import wait_until

RESPONSE_BODY = b'{"id":1,"region":"primary"}'


# -- the trivial endpoint -----------------------------------------------------------------


class _Trivial(asyncio.Protocol):
    """HTTP/1.1 keep-alive: every request (its body skipped) gets the same 200."""

    RESPONSE = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(RESPONSE_BODY), RESPONSE_BODY)
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.RESPONSE)


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(
        _Trivial, "127.0.0.1", port, backlog=1024
    )
    await server.serve_forever()


@contextmanager
def trivial_endpoint(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The trivial endpoint in a process of its own (not sharing this one's GIL)."""
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        wait_until(lambda: _answers(port), 20, "the trivial endpoint answering")
        yield server
    finally:
        server.kill()
        server.wait()


def _answers(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


# -- one measured load run ----------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    workers: int
    rps: float
    """Requests sent per second over the measured window."""
    sustained_rps: float
    """The 10th percentile of the window's per-second counts."""
    failures: float
    locust_cpu: float
    """% of one core used by the Locust processes (master and workers)."""
    lab_cpu: float
    """% of one core used by what was loaded (the lab's processes, or the trivial endpoint)."""
    machine_busy: float
    """% of all cores busy, whoever used them."""
    load1: float
    by_role: dict[str, float]
    """The loaded side's CPU (% of one core) per kind of process."""


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        seconds[pid] = times.user + times.system + times.children_user + times.children_system
    return seconds


def _role(pid: int) -> str:
    """What a loaded-side process is: edge, gateway, order-service, postgres, endpoint."""
    try:
        argv = psutil.Process(pid).cmdline()
    except psutil.Error:
        return "gone"
    text = " ".join(argv)
    for module in ("edge", "gateway", "order_service", "objects"):
        if f"drdrill.lab.{module}" in text:
            return module.replace("_", "-")
    if "postgres" in text:
        return "postgres"
    return "endpoint" if "--serve" in text else "other"


def lab_pids(lab: Lab) -> list[int]:
    """The lab's processes: each one the lab started carries its marker in its environment,
    and their children (PostgreSQL's backends overwrite theirs with their process title)."""
    (key, value), *_ = lab.process_marker().items()
    pids: set[int] = set()
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(key) == value:
                pids.add(proc.pid)
                pids.update(child.pid for child in proc.children(recursive=True))
        except psutil.Error:
            continue
    return sorted(pids)


def measured_run(
    host: str,
    settings: LoadSettings,
    out_dir: Path,
    seconds: float,
    target: Callable[[], list[int]],
) -> Figure:
    """Run the load against ``host``; figures over ``seconds`` once every worker sends."""
    run = LoadRun(host, settings, out_dir, max_seconds=seconds + 60).start()
    try:
        run.wait_sending(120)
        time.sleep(1.5)  # the users are spawned and the connections open
        locust = [p for p in [run.pid, *run.worker_pids] if p is not None]
        labs = target()
        machine0 = psutil.cpu_times()
        cpu0 = (_cpu_by_pid(locust), _cpu_by_pid(labs))
        t0 = time.time_ns()
        wall0 = time.monotonic()
        time.sleep(seconds)
        t1 = time.time_ns()
        wall = time.monotonic() - wall0
        cpu1 = (_cpu_by_pid(locust), _cpu_by_pid(labs))
        roles = {pid: _role(pid) for pid in cpu1[1]}
        machine1 = psutil.cpu_times()
        load1 = os.getloadavg()[0]
    finally:
        run.stop()
    window = [r for r in run.requests() if t0 <= r.t_ns < t1]
    per_second = Counter((r.t_ns - t0) // 1_000_000_000 for r in window)
    counts = sorted(per_second.get(s, 0) for s in range(int(seconds)))
    busy0 = sum(machine0) - machine0.idle - getattr(machine0, "iowait", 0.0)
    busy1 = sum(machine1) - machine1.idle - getattr(machine1, "iowait", 0.0)
    used = [
        {pid: after - cpu0[side].get(pid, 0.0) for pid, after in cpu1[side].items()}
        for side in (0, 1)
    ]
    by_role: defaultdict[str, float] = defaultdict(float)
    for pid, spent in used[1].items():
        by_role[roles[pid]] += 100.0 * spent / wall
    return Figure(
        workers=settings.workers,
        rps=len(window) / ((t1 - t0) / 1e9),
        sustained_rps=float(counts[int(0.1 * (len(counts) - 1))]) if counts else 0.0,
        failures=100.0 * sum(not r.ok for r in window) / len(window) if window else 0.0,
        locust_cpu=100.0 * sum(used[0].values()) / wall,
        lab_cpu=100.0 * sum(used[1].values()) / wall,
        by_role=dict(by_role),
        machine_busy=100.0 * (busy1 - busy0) / (sum(machine1) - sum(machine0)),
        load1=load1,
    )


def _median_row(figures: list[Figure]) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    rps = med([f.rps for f in figures])
    spread = ", ".join(f"{f.rps:.0f}" for f in figures)
    sustained = med([f.sustained_rps for f in figures])
    per_locust_core = med([100.0 * f.rps / max(f.locust_cpu, 1e-9) for f in figures])
    per_loaded_core = med([100.0 * f.rps / max(f.lab_cpu, 1e-9) for f in figures])
    return (
        f"| {figures[0].workers} | {rps:.0f} ({spread}) | {sustained:.0f}"
        f" | {per_locust_core:.0f} | {per_loaded_core:.0f}"
        f" | {med([f.failures for f in figures]):.2f} | {med([f.locust_cpu for f in figures]):.0f}"
        f" | {med([f.lab_cpu for f in figures]):.0f} | {med([f.machine_busy for f in figures]):.0f}"
        f" | {', '.join(f'{f.load1:.1f}' for f in figures)} |"
    )


HEADER = (
    "| workers | req/s median (each run) | sustained req/s (p10 of 1 s) "
    "| req/s per Locust CPU core | req/s per loaded-side CPU core | failed % "
    "| Locust CPU % of a core | loaded side CPU % of a core | machine busy % | load avg 1 min |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def series(
    host: str,
    workers: list[int],
    args: argparse.Namespace,
    out: Path,
    target: Callable[[], list[int]],
) -> dict[int, list[Figure]]:
    results: dict[int, list[Figure]] = {}
    for count in workers:
        settings = LoadSettings(
            users=args.users, spawn_rate=args.users, workers=count, master_port=args.ports
        )
        for repeat in range(args.repeats):
            figure = measured_run(host, settings, out / f"w{count}-r{repeat}", args.seconds, target)
            results.setdefault(count, []).append(figure)
            print(
                f"  {count} worker(s), run {repeat + 1}: {figure.rps:.0f} req/s, "
                f"Locust {figure.locust_cpu:.0f} %, loaded side {figure.lab_cpu:.0f} %, machine "
                f"{figure.machine_busy:.0f} % busy, load {figure.load1:.1f}",
                flush=True,
            )
    print(HEADER)
    for count in workers:
        print(_median_row(results[count]))
    for count in workers:
        roles = sorted({role for f in results[count] for role in f.by_role})
        split = ", ".join(
            f"{role} {statistics.median([f.by_role.get(role, 0.0) for f in results[count]]):.0f}"
            for role in roles
        )
        print(f"  loaded side CPU, % of one core, {count} worker(s): {split}")
    cores = os.cpu_count() or 1
    for count in workers:
        # CPU per request is what contention does not change: with the machine to
        # themselves, Locust and the loaded side share its cores at these costs
        figures = [f for f in results[count] if f.rps > 0]
        if not figures:
            continue
        per_request = statistics.median([(f.locust_cpu + f.lab_cpu) / 100 / f.rps for f in figures])
        locust_share = statistics.median(
            [f.locust_cpu / max(f.locust_cpu + f.lab_cpu, 1e-9) for f in figures]
        )
        print(
            f"  {count} worker(s): {1000 * per_request:.2f} ms of CPU per request "
            f"({100 * locust_share:.0f} % of it Locust's): at most "
            f"{cores / per_request:.0f} req/s on {cores} idle cores (a projection)"
        )
    return results


# -- RTO against known outages --------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    mode: str
    low: float
    """Restore called, s after the fault: the service was down at least this long."""
    returned: float
    """Restore returned, s after the fault."""
    rto: float
    rto_errors_only: float
    """The RTO with slow answers not counted as failures (``slow_after`` out of play): what
    the probes measured of the outage itself, apart from a slow recovery after it."""

    @property
    def error(self) -> float:
        return self.rto - self.returned

    @property
    def outside(self) -> float:
        return self._outside(self.rto)

    @property
    def outside_errors_only(self) -> float:
        return self._outside(self.rto_errors_only)

    def _outside(self, rto: float) -> float:
        high = self.returned + BREAKER_S
        return rto - self.low if rto < self.low else max(0.0, rto - high)


def late_reasons(samples: list[Sample], t_back: int, slow_after: float = 0.1) -> str:
    """Why the critical flow still counted as down after the restore returned."""
    reasons: Counter[str] = Counter()
    for sample in samples:
        if sample.t_ns >= t_back and not sample.ok:
            reasons[sample.detail.split(" via ")[0][:40]] += 1
        elif sample.t_ns >= t_back and sample.latency_s > slow_after:
            reasons["slow (> 100 ms)"] += 1
    return ", ".join(f"{n}x {why}" for why, n in reasons.most_common(3)) or "-"


def outages(lab: Lab, count: int) -> list[Outage]:
    endpoint = f"http://127.0.0.1:{lab.ports.worker('primary', 0)}"
    settings = MeasurementSettings(probe_interval=0.1, probe_timeout=0.5, stable_for=1.0)
    lengths = [1.0, 2.0, 1.5, 3.0, 0.7, 2.5]
    result = []
    for i in range(count):
        mode = "blackhole" if i % 2 == 0 else "power-off"
        timeline = Timeline()
        with Observation(endpoint, settings, edge_record=False) as observation:
            time.sleep(1.0)
            lab.fail_region("primary", mode)
            t_fault = timeline.record(FAULT_INJECTED, "primary").t_ns
            time.sleep(lengths[i % len(lengths)])
            t_call = time.time_ns()
            lab.restore_region("primary")
            t_back = time.time_ns()
            observation.wait_restored(t_fault, 30)
        m = measure(timeline, observation.samples(), settings)
        patient = settings.model_copy(update={"slow_after": 60.0})
        m_errors = measure(timeline, observation.samples(), patient)
        outage = Outage(
            mode,
            (t_call - t_fault) / 1e9,
            (t_back - t_fault) / 1e9,
            m.rto_s if m.rto_s is not None else float("nan"),
            m_errors.rto_s if m_errors.rto_s is not None else float("nan"),
        )
        result.append(outage)
        print(
            f"  {mode:<9} window {outage.low:.3f}..{outage.returned:.3f} s  RTO {outage.rto:.3f} s"
            f"  error {outage.error:+.3f} s  outside {outage.outside:+.3f} s"
            f"  (slow not failed: RTO {outage.rto_errors_only:.3f} s,"
            f" outside {outage.outside_errors_only:+.3f} s)  "
            f"load {os.getloadavg()[0]:.1f}  after restore: "
            f"{late_reasons(observation.samples(CRITICAL_FLOW), t_back)}",
            flush=True,
        )
    return result


def _rto_row(label: str, found: list[Outage], probe_interval: float = 0.1) -> str:
    errors = sorted(abs(o.error) for o in found)
    within = sum(abs(o.outside) <= probe_interval for o in found)
    within_errors = sum(abs(o.outside_errors_only) <= probe_interval for o in found)
    return (
        f"| {label} | {len(found)} | {statistics.median(errors):.3f} | {errors[-1]:.3f} "
        f"| {statistics.median([o.error for o in found]):+.3f} | {within}/{len(found)} "
        f"| {within_errors}/{len(found)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--workers", default="1,2,3", help="worker counts through the edge")
    parser.add_argument("--alone-workers", default="1,2", help="worker counts, Locust alone")
    parser.add_argument("--rto-workers", type=int, default=2)
    parser.add_argument(
        "--rto-users", type=int, default=20, help="users loading the edge during the outages"
    )
    parser.add_argument("--outages", type=int, default=4)
    parser.add_argument("--base-port", type=int, default=24500)
    parser.add_argument("--ports", type=int, default=22700)
    parser.add_argument("--skip", default="", help="parts to skip: alone,edge,rto")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return 0
    skip = set(args.skip.split(","))
    out = Path(tempfile.mkdtemp(prefix="drdrill-load-bench-", dir="/tmp"))
    os.chmod(out, 0o755)
    print(
        f"{os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.1f}; "
        f"{args.users} users, {args.seconds:.0f} s windows, {args.repeats} repeats\n"
    )
    try:
        if "alone" not in skip:
            print("Locust alone against a trivial endpoint (127.0.0.1):")
            with trivial_endpoint(args.ports + 1) as server:
                series(
                    f"http://127.0.0.1:{args.ports + 1}",
                    [int(w) for w in args.alone_workers.split(",")],
                    args,
                    out / "alone",
                    lambda: [server.pid],
                )
            print()
        if skip >= {"edge", "rto"}:
            return 0
        lab = Lab(LabSettings(base_port=args.base_port, state_dir=out / "lab"))
        lab.up()
        try:
            if "edge" not in skip:
                print("Through the lab's edge, probes and canary watching it (drill-like):")
                observe = MeasurementSettings()
                with Observation(lab.edge_url, observe):
                    series(
                        lab.edge_url,
                        [int(w) for w in args.workers.split(",")],
                        args,
                        out / "edge",
                        lambda: lab_pids(lab),
                    )
                print()
            if "rto" not in skip:
                print("RTO against known outages, without load:")
                quiet = outages(lab, args.outages)
                print(
                    f"RTO against known outages, {args.rto_users} users on {args.rto_workers} "
                    "workers loading the edge:"
                )
                settings = LoadSettings(
                    users=args.rto_users,
                    spawn_rate=args.rto_users,
                    workers=args.rto_workers,
                    master_port=args.ports,
                )
                run = LoadRun(lab.edge_url, settings, out / "rto-load", max_seconds=900)
                run.start().wait_sending(120)
                t0 = time.time_ns()
                try:
                    time.sleep(1.5)
                    loaded = outages(lab, args.outages)
                finally:
                    run.stop()
                sent = [r for r in run.requests() if r.t_ns >= t0]
                span = (sent[-1].t_ns - t0) / 1e9 if sent else 1.0
                print(
                    "\n| load | outages | abs(error) median s | max s | signed median s "
                    "| RTO within one probe interval of the known window "
                    "| same, slow answers not counted as failed |"
                    "\n|---|---|---|---|---|---|---|"
                )
                print(_rto_row("none", quiet))
                print(
                    _rto_row(f"{len(sent) / span:.0f} req/s ({args.rto_workers} workers)", loaded)
                )
        finally:
            lab.down()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
