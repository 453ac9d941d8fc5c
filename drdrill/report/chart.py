"""The timeline picture: probe results, error rate, phase bars, t_fault and t_restored."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from drdrill.measure import BUCKET_NS, Request
from drdrill.probes import CRITICAL_FLOW, HEALTH, Sample
from drdrill.results import Measurements

__all__ = ["draw_timeline"]


def draw_timeline(
    path: Path,
    samples: Sequence[Sample],
    measurements: Measurements,
    requests: Sequence[Request] = (),
    title: str = "",
) -> Path:
    """Write a PNG of the drill's timeline (seconds relative to t_fault) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zero = measurements.t_fault_ns or (samples[0].t_ns if samples else 0)

    def rel(t_ns: int) -> float:
        return (t_ns - zero) / 1e9

    fig, (probes_ax, errors_ax, phases_ax) = plt.subplots(
        3, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [2, 2, 1.4]}
    )
    for row, probe in enumerate((CRITICAL_FLOW, HEALTH)):
        picked = [s for s in samples if s.probe == probe]
        probes_ax.scatter(
            [rel(s.t_ns) for s in picked],
            [row] * len(picked),
            c=["#2e7d32" if s.ok else "#c62828" for s in picked],
            s=8,
            marker="|",
        )
    probes_ax.set_yticks([0, 1], ["critical flow", "health"])
    probes_ax.set_ylim(-0.5, 1.5)
    probes_ax.set_title(title or "drill timeline (0 = fault injected)")

    if requests:
        buckets: dict[int, list[int]] = {}
        for r in requests:
            b = buckets.setdefault(r.t_ns // BUCKET_NS, [0, 0])
            b[0] += 1
            b[1] += 0 if r.ok else 1
        keys = sorted(buckets)
        errors_ax.plot(
            [rel(k * BUCKET_NS) for k in keys],
            [buckets[k][1] / buckets[k][0] * 100 for k in keys],
            color="#c62828",
            linewidth=0.8,
        )
    errors_ax.set_ylabel("load errors %")
    errors_ax.set_ylim(-5, 105)

    for row, phase in enumerate(measurements.phases):
        phases_ax.barh(
            row,
            max(phase.duration_s, 0.02),
            left=rel(phase.start_ns),
            color="#1565c0" if phase.ok else "#c62828",
        )
    phases_ax.set_yticks(range(len(measurements.phases)), [p.name for p in measurements.phases])
    phases_ax.invert_yaxis()
    phases_ax.set_xlabel("seconds since t_fault")

    for ax in (probes_ax, errors_ax, phases_ax):
        if measurements.t_fault_ns is not None:
            ax.axvline(0, color="#c62828", linestyle="--", linewidth=1)
        if measurements.t_restored_ns is not None:
            ax.axvline(
                rel(measurements.t_restored_ns), color="#2e7d32", linestyle="--", linewidth=1
            )
    if measurements.t_restored_ns is not None and measurements.rto_s is not None:
        probes_ax.annotate(
            f"RTO {measurements.rto_s:.2f} s",
            (rel(measurements.t_restored_ns), 1.3),
            fontsize=8,
            color="#2e7d32",
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
