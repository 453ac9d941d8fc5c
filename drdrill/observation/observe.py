"""An observation: probes and the canary running against an endpoint while a drill runs."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import TracebackType

from drdrill.config import Alarms, MeasurementSettings
from drdrill.measurement.measure import find_restored
from drdrill.measurement.samples import (
    CRITICAL_FLOW,
    EDGE_RECORD,
    HEALTH,
    REPLICATION_LAG,
    Sample,
    accepts_writes_probe,
)
from drdrill.observation.canary import CanaryWriter
from drdrill.observation.sampling import (
    Sampler,
    accepts_writes_check,
    critical_flow_check,
    edge_record_check,
    health_check,
    replication_lag_check,
)
from drdrill.observation.write_ledger import Ledger
from drdrill.support.wait import poll

__all__ = ["WRITE_PROBE_INTERVAL_S", "Observation"]

WRITE_PROBE_INTERVAL_S = 0.2
"""How often each region's write probe asks its database (a new connection each time:
twice the critical flow's interval keeps two databases' connection churn small)."""


class Observation:
    """Probes (health, critical flow, edge record, optional replication lag, optional
    write probe per region: ``drdrill.measurement.split_brain``) + canary writer.

    Use as a context manager, or ``start()``/``stop()``; ``stop()`` is idempotent.
    """

    def __init__(
        self,
        endpoint: str,
        settings: MeasurementSettings,
        *,
        standby_dsn: str | None = None,
        alarms: Alarms | None = None,
        canary: bool = True,
        edge_record: bool = True,
        write_probes: Mapping[str, str] | None = None,
    ) -> None:
        """``write_probes``: region → the DSN of its database, asked whether it accepts
        writes (both at once: split brain)."""
        self.endpoint = endpoint
        self.settings = settings
        self.ledger = Ledger()
        every, timeout = settings.probe_interval, settings.probe_timeout
        self._samplers = [
            Sampler(HEALTH, health_check(endpoint), every, timeout),
            Sampler(CRITICAL_FLOW, critical_flow_check(endpoint), every, timeout),
        ]
        if edge_record:
            self._samplers.append(Sampler(EDGE_RECORD, edge_record_check(endpoint), every, timeout))
        if standby_dsn is not None:
            alarm = (alarms or Alarms()).replica_lag
            self._samplers.append(
                Sampler(REPLICATION_LAG, replication_lag_check(standby_dsn, alarm), 1.0, timeout)
            )
        for region, dsn in (write_probes or {}).items():
            self._samplers.append(
                Sampler(
                    accepts_writes_probe(region),
                    accepts_writes_check(dsn),
                    WRITE_PROBE_INTERVAL_S,
                    timeout,
                )
            )
        self._canary = (
            CanaryWriter(endpoint, self.ledger, settings.canary_interval, timeout)
            if canary
            else None
        )
        self._started = False
        self._stopped = False
        self._lock = threading.Lock()

    def start(self) -> Observation:
        """Start every sampler and the canary (once; later calls do nothing)."""
        with self._lock:
            if not self._started and not self._stopped:
                self._started = True
                for sampler in self._samplers:
                    sampler.start()
                if self._canary is not None:
                    self._canary.start()
        return self

    def stop(self) -> None:
        """Stop the canary and the samplers at once, then wait for requests in flight (at
        most one probe timeout): nothing is sent after the call. Idempotent and safe from
        any thread (a concurrent caller returns once the stop is complete); a stopped
        observation cannot be restarted."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if not self._started:
                return
            clocks = [*([self._canary] if self._canary is not None else []), *self._samplers]
            # halting one by one while waiting for each would keep the others probing
            for clock in clocks:
                clock.halt()
            for clock in clocks:
                clock.stop()

    def __enter__(self) -> Observation:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def samples(self, probe: str | None = None) -> list[Sample]:
        """Every sample (of ``probe`` only, when given), in time order."""
        merged = [
            s
            for sampler in self._samplers
            if probe is None or sampler.name == probe
            for s in sampler.samples()
        ]
        return sorted(merged, key=lambda s: s.t_ns)

    def wait_restored(self, after_ns: int, timeout_s: float) -> int | None:
        """Block until the critical flow has been green for ``stable_for``; t_restored or None."""
        return poll(
            lambda: find_restored(
                self.samples(CRITICAL_FLOW),
                after_ns,
                self.settings.stable_for,
                self.settings.slow_after,
            ),
            timeout_s,
            interval_s=self.settings.probe_interval,
        )
