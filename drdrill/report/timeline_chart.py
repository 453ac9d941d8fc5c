"""The timeline picture of one drill (PNG, matplotlib with the Agg backend).

Three panels sharing one time axis, in seconds relative to ``t_fault``:

1. probes: every health and critical-flow sample as a tick at its send time (green
   ok, red failed), the probe-observed outage windows shaded;
2. load: Locust's error rate per 100 ms bucket (a step per bucket) and the
   user-observed outage windows shaded;
3. phases: one bar per activation phase (blue ok, red failed), labelled with its duration.

``t_fault`` (red dashed) and ``t_restored`` (green dashed) cross all three panels,
and the RTO span is marked between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from drdrill.measurement.measure import BUCKET_NS, Request
from drdrill.measurement.results import Measurements
from drdrill.measurement.samples import CRITICAL_FLOW, HEALTH, Sample

__all__ = ["draw_timeline", "error_rate_series"]

OK_COLOUR = "#2e7d32"
FAIL_COLOUR = "#c62828"
PHASE_COLOUR = "#1565c0"


def error_rate_series(
    requests: Sequence[Request], bucket_ns: int = BUCKET_NS
) -> list[tuple[int, float]]:
    """(bucket start ns, share of requests that failed) per non-empty bucket, in order."""
    buckets: dict[int, list[int]] = {}
    for r in requests:
        counts = buckets.setdefault(r.t_ns // bucket_ns, [0, 0])
        counts[0] += 1
        counts[1] += 0 if r.ok else 1
    return [(k * bucket_ns, buckets[k][1] / buckets[k][0]) for k in sorted(buckets)]


def draw_timeline(
    path: Path,
    samples: Sequence[Sample],
    measurements: Measurements,
    requests: Sequence[Request] = (),
    title: str = "",
) -> Path:
    """Write the drill's timeline picture to ``path`` (PNG); returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = [s.t_ns for s in samples] + [r.t_ns for r in requests]
    zero = measurements.t_fault_ns or (min(starts) if starts else 0)

    def rel(t_ns: int) -> float:
        return (t_ns - zero) / 1e9

    fig, (probes_ax, load_ax, phases_ax) = plt.subplots(
        3,
        1,
        figsize=(11, 6.5),
        sharex=True,
        gridspec_kw={"height_ratios": [2, 1.6, 1.4]},
    )
    # 1. probes
    for row, probe in enumerate((CRITICAL_FLOW, HEALTH)):
        picked = [s for s in samples if s.probe == probe]
        probes_ax.scatter(
            [rel(s.t_ns) for s in picked],
            [row] * len(picked),
            c=[OK_COLOUR if s.ok else FAIL_COLOUR for s in picked],
            s=40,
            marker="|",
            linewidths=1,
        )
    for outage in measurements.outages:
        probes_ax.axvspan(rel(outage.start_ns), rel(outage.end_ns), color=FAIL_COLOUR, alpha=0.08)
    probes_ax.set_yticks([0, 1], ["critical flow", "health"])
    probes_ax.set_ylim(-0.6, 1.6)
    probes_ax.set_title(title or "drill timeline (0 = fault injected)")

    # 2. load error rate and user-observed outages
    errors = error_rate_series(requests)
    if errors:
        load_ax.step(
            [rel(t) for t, _ in errors],
            [v * 100 for _, v in errors],
            where="post",
            color=FAIL_COLOUR,
            linewidth=0.8,
        )
    for outage in measurements.user_outages:
        load_ax.axvspan(rel(outage.start_ns), rel(outage.end_ns), color=FAIL_COLOUR, alpha=0.12)
    load_ax.set_ylabel("load errors %\n(100 ms)")
    load_ax.set_ylim(-5, 105)
    if not requests:
        load_ax.text(0.01, 0.8, "no load recorded", transform=load_ax.transAxes, fontsize=8)

    # 3. activation phases
    for row, phase in enumerate(measurements.phases):
        width = max(phase.duration_s, 0.02)
        phases_ax.barh(
            row, width, left=rel(phase.start_ns), color=PHASE_COLOUR if phase.ok else FAIL_COLOUR
        )
        phases_ax.annotate(
            f"{phase.duration_s:.2f} s",
            (rel(phase.start_ns) + width, row),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    phases_ax.set_yticks(range(len(measurements.phases)), [p.name for p in measurements.phases])
    phases_ax.set_ylim(len(measurements.phases) - 0.5, -0.5)
    phases_ax.set_xlabel("seconds since t_fault" if measurements.t_fault_ns else "seconds")

    # t_fault, t_restored and the RTO between them
    for ax in (probes_ax, load_ax, phases_ax):
        if measurements.t_fault_ns is not None:
            ax.axvline(0, color=FAIL_COLOUR, linestyle="--", linewidth=1)
        if measurements.t_restored_ns is not None:
            ax.axvline(
                rel(measurements.t_restored_ns), color=OK_COLOUR, linestyle="--", linewidth=1
            )
    if measurements.t_fault_ns is not None:
        probes_ax.annotate(
            "t_fault",
            (0, 1.45),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=8,
            color=FAIL_COLOUR,
        )
    if measurements.t_restored_ns is not None and measurements.t_fault_ns is not None:
        restored = rel(measurements.t_restored_ns)
        probes_ax.annotate(
            "",
            xy=(restored, 0.5),
            xytext=(0, 0.5),
            arrowprops={"arrowstyle": "<->", "color": OK_COLOUR, "linewidth": 1},
        )
        probes_ax.annotate(
            f"t_restored · RTO {measurements.rto_s:.2f} s",
            (restored, 1.45),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=8,
            color=OK_COLOUR,
        )
    elif measurements.t_fault_ns is not None:
        probes_ax.annotate(
            "never restored",
            (0, 0.5),
            xytext=(40, 0),
            textcoords="offset points",
            fontsize=9,
            color=FAIL_COLOUR,
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
