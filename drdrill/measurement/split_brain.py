"""Split brain: both regions' databases accepting writes at once, seen by the write probes.

Definitions (docs/measurements.md):

- **write probe** — per region, ``accepts_writes_<region>`` (``drdrill.observation.sampling``): the
  region's database answers, is no standby and a new transaction may write. Sampled on
  the drill's clock like every probe, stamped with its send time.
- **split-brain window** — from the send time of the sample that makes every region's
  latest write probe say "accepts writes" to the send time of the first later sample of
  any region that does not (refuses, or does not answer: no evidence of writing); a window
  still open at the last sample ends there. Only positive evidence from every region opens
  one, so an unreachable database never makes a split brain up.
- **divergent write** — one the old primary acknowledged after the promotion and the final
  primary does not hold (the target counts them before the rewind discards them; the
  lab: ``drdrill.lab.split_brain``). ``DivergentWrite`` carries one into the drill.

``split_brain_windows`` is pure. ``SplitBrainWatch`` runs it on the live samples every
half second and writes what it finds into the timeline as it happens: a ``split_brain``
note when a window opens (stamped with its start), a ``split_brain_ended`` note when it
closes (stamped with its end, its length in ``seconds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drdrill.measurement.results import OutageWindow
from drdrill.measurement.samples import Sample, accepts_writes_region

__all__ = [
    "DivergentWrite",
    "split_brain_scan",
    "split_brain_windows",
]


@dataclass(frozen=True)
class DivergentWrite:
    """A write acknowledged by the old primary after the promotion and absent from the final
    primary: customers were told it succeeded, and the failback discards it."""

    id: str
    ack_ns: int
    committed_ns: int | None = None
    """When the old primary committed it, when the target can say."""


def split_brain_windows(samples: Sequence[Sample]) -> tuple[OutageWindow, ...]:
    """Every split-brain window of ``samples`` (module docstring), in time order. Samples
    of other probes are ignored; fewer than two regions probed means none."""
    closed, still_open = split_brain_scan(samples)
    return closed if still_open is None else (*closed, still_open)


def split_brain_scan(
    samples: Sequence[Sample],
) -> tuple[tuple[OutageWindow, ...], OutageWindow | None]:
    """The windows that closed, and the one still open at the last write sample (or None)."""
    probed = sorted(
        ((s, region) for s in samples if (region := accepts_writes_region(s.probe)) is not None),
        key=lambda pair: pair[0].t_ns,
    )
    regions = {region for _, region in probed}
    if len(regions) < 2:
        return (), None
    latest: dict[str, bool] = {}
    windows = []
    opened: int | None = None
    for sample, region in probed:
        latest[region] = sample.ok
        both = len(latest) == len(regions) and all(latest.values())
        if both and opened is None:
            opened = sample.t_ns
        elif not both and opened is not None:
            windows.append(OutageWindow(opened, sample.t_ns))
            opened = None
    still_open = None if opened is None else OutageWindow(opened, probed[-1][0].t_ns)
    return tuple(windows), still_open
