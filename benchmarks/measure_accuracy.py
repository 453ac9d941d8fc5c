"""How exactly does drdrill measure an outage, and what do probes + canary cost?

Injects outages of known length into the lab's primary region (blackhole and
power-off, alternating; 0.5 s to 4 s) while probes and the canary watch one of its
workers directly (so the edge's health-check hysteresis, a real part of the
customer's outage, is not mixed into the measurement error). Measured: RTO.

Ground truth is a window, not a point: the service is down at least from the
injection to the restore call, and it is back at most BREAKER_S after the restore
returned (a power-off restore waits for readiness, so service may be back before
it returns; on thaw the worker's circuit breaker may still answer 503 for
BREAKER_S, a real outage). "error" is RTO minus (restore returned − fault);
"outside" is how far the RTO falls outside the window (0 inside). The last column
says what the critical flow saw after the restore returned (failed or slow samples).

    .venv/bin/python benchmarks/measure_accuracy.py [--outages 10] [--base-port 27000]

Prints the error median / p95 / max, and the CPU cost of probes + canary
(process CPU seconds per wall second, as % of one core) over a quiet window.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from drdrill.config import LabSettings, MeasurementSettings
from drdrill.lab import Lab
from drdrill.lab.order_service import BREAKER_S
from drdrill.measurement.measure import measure
from drdrill.measurement.samples import CRITICAL_FLOW, Sample
from drdrill.observation.observe import Observation
from drdrill.records.timeline import FAULT_INJECTED, Timeline


def late_reasons(samples: list[Sample], t_back: int, slow_after: float = 0.1) -> str:
    """What the critical-flow samples sent after the restore returned said, when down."""
    reasons: Counter[str] = Counter()
    for sample in samples:
        if sample.t_ns >= t_back and not sample.ok:
            reasons[sample.detail.split(" via ")[0][:40]] += 1
        elif sample.t_ns >= t_back and sample.latency_s > slow_after:
            reasons["slow (> 100 ms)"] += 1
    return ", ".join(f"{n}x {why}" for why, n in reasons.most_common(3)) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=int, default=10)
    parser.add_argument("--base-port", type=int, default=27000)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="drdrill-bench-", dir="/tmp"))
    os.chmod(state, 0o755)
    lab = Lab(LabSettings(base_port=args.base_port, state_dir=state / "lab"))
    settings = MeasurementSettings(probe_interval=0.1, probe_timeout=0.5, stable_for=1.0)
    lengths = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 0.7, 2.5, 1.2, 3.5]
    errors: list[float] = []
    outsides: list[float] = []
    try:
        lab.up()
        endpoint = f"http://127.0.0.1:{lab.ports.worker('primary', 0)}"

        cpu0, wall0 = time.process_time(), time.monotonic()
        with Observation(endpoint, settings, edge_record=False):
            time.sleep(10)
        cpu_pct = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100

        print(
            f"{'#':>2} {'mode':<9} {'restore call..return s':>22} {'RTO s':>7} "
            f"{'error s':>8} {'outside s':>9}  why the service was still down after restore"
        )
        for i in range(args.outages):
            mode = "blackhole" if i % 2 == 0 else "power-off"
            length = lengths[i % len(lengths)]
            timeline = Timeline()
            with Observation(endpoint, settings, edge_record=False) as obs:
                time.sleep(1.0)
                lab.fail_region("primary", mode)
                t_fault = timeline.record(FAULT_INJECTED, "primary").t_ns
                time.sleep(length)
                t_call = time.time_ns()
                lab.restore_region("primary")
                t_back = time.time_ns()
                obs.wait_restored(t_fault, 30)
            m = measure(timeline, obs.samples(), settings)
            low, high = (t_call - t_fault) / 1e9, (t_back - t_fault) / 1e9 + BREAKER_S
            rto = m.rto_s if m.rto_s is not None else float("nan")
            error = rto - (t_back - t_fault) / 1e9
            outside = rto - low if rto < low else rto - high if rto > high else 0.0
            errors.append(error)
            outsides.append(outside)
            print(
                f"{i:>2} {mode:<9} {low:10.3f}..{(t_back - t_fault) / 1e9:<10.3f} {rto:7.3f} "
                f"{error:+8.3f} {outside:+9.3f}  {late_reasons(obs.samples(CRITICAL_FLOW), t_back)}"
            )
    finally:
        lab.down()
        shutil.rmtree(state, ignore_errors=True)

    absolute = sorted(abs(e) for e in errors)
    p95 = absolute[min(len(absolute) - 1, round(0.95 * (len(absolute) - 1)))]
    print()
    print(f"outages: {len(errors)}   probe interval: {settings.probe_interval} s")
    print(
        f"|error| median {statistics.median(absolute):.3f} s   p95 {p95:.3f} s   "
        f"max {absolute[-1]:.3f} s   (signed median {statistics.median(errors):+.3f} s)"
    )
    beyond = sorted(abs(o) for o in outsides)
    within = sum(b <= settings.probe_interval for b in beyond)
    print(
        f"outside the known window [restore called, restore returned + breaker "
        f"{BREAKER_S} s]: median {statistics.median(beyond):.3f} s   max {beyond[-1]:.3f} s   "
        f"within one probe interval: {within}/{len(beyond)}"
    )
    print(f"probes + canary CPU: {cpu_pct:.1f} % of one core (goal <= 5 %)")


if __name__ == "__main__":
    main()
