"""The embedded two-region lab: up, down, status, region failures, and the DR actions.

Everything lives in ``LabSettings.state_dir``: ``lab.json`` (what is running and
how it is configured), ``pids/`` (one pid file per process, written at spawn),
``logs/``, ``pg/`` (data dirs), ``archive/`` (WAL) and ``backups/``. ``down()``
ends every recorded process group and removes the directory, so it also cleans
up after a ``kill -9`` of the CLI in the middle of ``up()``.

Ports are ``base_port`` + a fixed offset (see ``Ports``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.config import DrillConfig, LabSettings
from drdrill.errors import ConfigError, LabError, UnknownRegionError
from drdrill.http import call
from drdrill.lab.postgres import PgInstall, PgServer, ReplicationState, cleanup_stale, run_as_for
from drdrill.lab.processes import RunAs, kill_marked, kill_recorded, recorded, spawn
from drdrill.lab.schema import SCHEMA, seed_sql
from drdrill.lab.status import LabStatus
from drdrill.targets.base import FAILURE_MODES, REGIONS, ServiceCheck
from drdrill.verify import verify_http

__all__ = ["MAX_WORKERS", "Lab", "Ports"]

MAX_WORKERS = 8
OTHER = {"primary": "dr", "dr": "primary"}


@dataclass(frozen=True)
class Ports:
    """The lab's port plan: everything within base .. base+79."""

    base: int

    @property
    def edge(self) -> int:
        return self.base

    def worker(self, region: str, index: int) -> int:
        return self.base + (10 if region == "primary" else 20) + index

    def database(self, region: str) -> int:
        return self.base + (30 if region == "primary" else 31)

    def gateway_worker(self, region: str, index: int) -> int:
        return self.base + (40 if region == "primary" else 50) + index

    def gateway_database(self, region: str) -> int:
        return self.base + (48 if region == "primary" else 58)

    def restore_slots(self) -> range:
        return range(self.base + 60, self.base + 80)

    def fixed(self) -> dict[int, str]:
        """Every port ``up`` needs, with what it is for."""
        ports = {self.edge: "edge"}
        for region in REGIONS:
            ports[self.database(region)] = f"{region} database"
            ports[self.gateway_database(region)] = f"{region} gateway (database)"
            for i in range(MAX_WORKERS):
                ports[self.worker(region, i)] = f"{region} order-service worker {i}"
                ports[self.gateway_worker(region, i)] = f"{region} gateway (worker {i})"
        return ports


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Lab:
    """The local two-region platform (DESIGN.md "The lab")."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.dir = settings.state_dir
        self.ports = Ports(settings.base_port)
        self.pid_dir = self.dir / "pids"
        self.log_dir = self.dir / "logs"
        self.state_file = self.dir / "lab.json"

    @classmethod
    def from_config(cls, config: DrillConfig) -> Lab:
        return cls(config.lab)

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.edge}"

    # -- state ---------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    def is_running(self) -> bool:
        """True when the lab was brought up and its edge process lives."""
        return self._state().get("phase") == "up" and "edge" in recorded(self.pid_dir)

    def _require_up(self) -> dict[str, Any]:
        if not self.is_running():
            raise LabError(f"the lab is not up (state dir {self.dir}); run `drdrill lab up` first")
        return self._state()

    @staticmethod
    def _check_region(region: str) -> None:
        if region not in REGIONS:
            raise UnknownRegionError(
                f"unknown region {region!r}; expected one of {', '.join(REGIONS)}"
            )

    # -- building blocks -----------------------------------------------------

    def _install(self) -> PgInstall:
        return PgInstall.find(self.settings.postgres_bin_dir)

    def _run_as(self) -> RunAs:
        return run_as_for(self.settings.postgres_user)

    def _pg(self, region: str, install: PgInstall | None = None) -> PgServer:
        return PgServer(
            f"pg-{region}",
            self.dir / "pg" / region,
            self.ports.database(region),
            install or PgInstall(Path(self._state().get("pg_bin", "/")), ""),
            RunAs(self._state().get("pg_user")),
            pid_dir=self.pid_dir,
            log_dir=self.log_dir,
        )

    def db_dsn(self, region: str) -> str:
        """The region's own database (no password: trust auth on 127.0.0.1)."""
        self._check_region(region)
        return f"postgresql://postgres@127.0.0.1:{self.ports.database(region)}/drdrill"

    def app_dsn(self, app_region: str, db_region: str) -> str:
        if db_region not in REGIONS:  # a restored instance (backup drills)
            from drdrill.lab.backups import LabBackups

            return LabBackups(self).restored_dsn(db_region)
        """How ``app_region``'s workers reach ``db_region``'s database (via a gateway)."""
        port = (
            self.ports.database(db_region)
            if app_region == db_region
            else self.ports.gateway_database(db_region)
        )
        return f"postgresql://postgres@127.0.0.1:{port}/drdrill"

    def _spawn_worker(self, region: str, index: int, dsn: str) -> None:
        spawn(
            f"app-{region}-{index}",
            [
                sys.executable,
                "-m",
                "drdrill.lab.order_service",
                "--region",
                region,
                "--port",
                str(self.ports.worker(region, index)),
                "--dsn",
                dsn,
            ],
            pid_dir=self.pid_dir,
            marker=str(self.dir),
            log_path=self.log_dir / f"app-{region}-{index}.log",
        )

    def _spawn_gateway(self, region: str) -> None:
        routes = [
            f"{self.ports.gateway_worker(region, i)}:{self.ports.worker(region, i)}"
            for i in range(MAX_WORKERS)
        ]
        routes.append(f"{self.ports.gateway_database(region)}:{self.ports.database(region)}")
        spawn(
            f"gw-{region}",
            [sys.executable, "-m", "drdrill.lab.gateway", *routes],
            env={
                **os.environ,
                "DRDRILL_GATEWAY_STATE": str(self._gateway_state(region)),
                "DRDRILL_GATEWAY_CONTROL": str(self._gateway_control(region)),
            },
            pid_dir=self.pid_dir,
            marker=str(self.dir),
            log_path=self.log_dir / f"gw-{region}.log",
        )

    def _gateway_state(self, region: str) -> Path:
        return self.dir / f"gw-{region}.state"

    def _gateway_control(self, region: str) -> Path:
        return self.dir / f"gw-{region}.control"

    def _gateway_reports(self, region: str) -> str | None:
        try:
            return self._gateway_state(region).read_text()
        except OSError:
            return None

    def _gateway_cuts(self, failures: dict[str, str | None]) -> dict[str, list[int]]:
        """Which routes each gateway cuts for the partitions in ``failures``.

        A partitioned region's gateway cuts everything (the edge and the other region
        no longer reach its workers or database); the other region's gateway cuts its
        database route, the one only the partitioned region uses (its standby's
        replication, its workers pointed across regions)."""
        cuts: dict[str, list[int]] = {}
        for region in REGIONS:
            if failures.get(region) == "partition":
                ports = [self.ports.gateway_worker(region, i) for i in range(MAX_WORKERS)]
                cuts[region] = sorted([*ports, self.ports.gateway_database(region)])
            elif failures.get(OTHER[region]) == "partition":
                cuts[region] = [self.ports.gateway_database(region)]
            else:
                cuts[region] = []
        return cuts

    def _apply_cuts(self, failures: dict[str, str | None]) -> None:
        """Bring every live gateway to the cuts ``failures`` call for; wait until in force.

        Gateways of a powered-off or frozen region are left alone: they get their cuts
        when the region is restored."""
        for region, ports in self._gateway_cuts(failures).items():
            if failures.get(region) in ("power-off", "blackhole"):
                continue
            want = json.dumps(ports)
            control = self._gateway_control(region)
            tmp = control.with_suffix(".tmp")
            tmp.write_text(want)
            tmp.replace(control)
            self._signal([f"gw-{region}"], signal.SIGUSR1)
            self._wait_until(
                lambda r=region, w=want: self._gateway_reports(r) == w,
                5,
                f"the {region} gateway to cut {want}",
            )

    def _backends(self, region: str, workers: int) -> list[str]:
        return [f"http://127.0.0.1:{self.ports.gateway_worker(region, i)}" for i in range(workers)]

    def _wait_http(self, urls: list[str], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(urls)
        while pending:
            # any HTTP answer means the worker serves (its database may be down: a 503)
            pending = [u for u in pending if call("GET", u, timeout=3.0).status == 0]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise LabError(f"not answering after {timeout}s: {', '.join(pending)}")
            time.sleep(0.05)

    # -- up / down -----------------------------------------------------------

    def up(self) -> LabStatus:
        """Bring the whole lab up; returns its status. Refuses if it already runs."""
        if self.is_running():
            raise LabError(f"the lab is already running (state dir {self.dir}); nothing changed")
        for port, purpose in self.ports.fixed().items():
            if port_in_use(port):
                raise LabError(
                    f"port {port} ({purpose}) is already in use by another program; "
                    f"free it or set lab.base_port (now {self.ports.base})"
                )
        self._check_reachable()
        self.down()
        try:
            return self._up()
        except BaseException:
            self.down()
            raise

    def _check_reachable(self) -> None:
        if os.geteuid() != 0:
            return
        for parent in [self.dir, *self.dir.parents]:
            if parent.exists() and not parent.stat().st_mode & 0o001:
                raise ConfigError(
                    f"{parent} is not traversable by other users, so PostgreSQL (run as "
                    f"{self.settings.postgres_user!r}, never root) cannot reach its data; "
                    "expected a state dir under a world-traversable path",
                    key="lab.state_dir",
                )

    def _up(self) -> LabStatus:
        started = time.monotonic()
        install = self._install()
        run_as = self._run_as()
        for sub in ("pids", "logs", "pg", "archive", "backups"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for path in (self.dir, self.dir / "pg", self.log_dir):
            path.chmod(0o755)
        state: dict[str, Any] = {
            "phase": "starting",
            "base_port": self.ports.base,
            "pg_bin": str(install.bin_dir),
            "pg_version": install.version,
            "pg_user": run_as.user,
            "workers": {"primary": self.settings.primary_workers, "dr": self.settings.dr_workers},
            "database_of": {"primary": "primary", "dr": "primary"},
            "failures": {"primary": None, "dr": None},
            "promoted": [],
        }
        self._save(state)
        primary = self._pg("primary", install)
        primary.init_primary(self.dir / "archive", self.settings.synchronous_commit)
        primary.start()
        primary.execute("CREATE DATABASE drdrill", dbname="postgres")
        primary.execute(SCHEMA + ";" + seed_sql(self.settings.products))
        for region in REGIONS:
            self._spawn_gateway(region)
        for i in range(self.settings.primary_workers):
            self._spawn_worker("primary", i, self.app_dsn("primary", "primary"))
        self._wait_tcp(self.ports.gateway_database("primary"))
        PgServer.create_standby(
            primary,
            "pg-dr",
            self.dir / "pg" / "dr",
            self.ports.database("dr"),
            slot="dr",
            upstream_port=self.ports.gateway_database("primary"),
        )
        for i in range(self.settings.dr_workers):
            self._spawn_worker("dr", i, self.app_dsn("dr", "primary"))
        edge_config = {
            "records": [
                {"name": "shop", "role": "PRIMARY", "region": "primary"},
                {"name": "shop", "role": "SECONDARY", "region": "dr"},
            ],
            "backends": {
                "primary": self._backends("primary", self.settings.primary_workers),
                "dr": self._backends("dr", self.settings.dr_workers),
            },
            "interval": self.settings.health_check_interval,
            "threshold": self.settings.health_check_failure_threshold,
            "ttl": self.settings.record_ttl,
        }
        (self.dir / "edge.json").write_text(json.dumps(edge_config))
        spawn(
            "edge",
            [
                sys.executable,
                "-m",
                "drdrill.lab.edge",
                "--config",
                str(self.dir / "edge.json"),
                "--port",
                str(self.ports.edge),
            ],
            pid_dir=self.pid_dir,
            marker=str(self.dir),
            log_path=self.log_dir / "edge.log",
        )
        workers = [
            f"http://127.0.0.1:{self.ports.worker(r, i)}/health"
            for r in REGIONS
            for i in range(state["workers"][r])
        ]
        self._wait_http([*workers, f"{self.edge_url}/_edge/resolve"])
        self._wait_until(lambda: call("GET", f"{self.edge_url}/health").ok, 10, "edge healthy")
        from drdrill.lab.backups import LabBackups

        state["phase"] = "up"
        self._save(state)
        LabBackups(self).snapshot("lab-up")  # the base backup point-in-time recovery starts from
        state["up_seconds"] = round(time.monotonic() - started, 3)
        self._save(state)
        return self.status()

    def down(self) -> None:
        """End every lab process and remove the state dir. Idempotent; works after a crash."""
        if not self.dir.exists():
            return
        live = recorded(self.pid_dir)
        for name, pid in live.items():
            if name.startswith("pg-") or name.startswith("restored-"):
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGCONT)
        kill_recorded(self.pid_dir)
        kill_marked(str(self.dir))
        pg_root = self.dir / "pg"
        if pg_root.is_dir():
            for data_dir in pg_root.iterdir():
                cleanup_stale(data_dir)
        for data_dir in (
            (self.dir / "restored").glob("*") if (self.dir / "restored").is_dir() else []
        ):
            cleanup_stale(data_dir)
        shutil.rmtree(self.dir, ignore_errors=True)

    def reset(self) -> LabStatus:
        """Back to the steady state: the lab re-created (down, then up)."""
        self.down()
        return self.up()

    # -- status --------------------------------------------------------------

    def status(self) -> LabStatus:
        """What ``drdrill lab status --json`` prints."""
        state = self._state()
        running = self.is_running()
        live = recorded(self.pid_dir)
        regions: dict[str, Any] = {}
        failures = state.get("failures", {})
        for region in REGIONS:
            failure = failures.get(region)
            workers = state.get("workers", {}).get(region, 0)
            app_alive = any(f"app-{region}-{i}" in live for i in range(workers))
            reachable = running and failure not in ("power-off", "blackhole")
            role = self._pg(region).role() if reachable and f"pg-{region}" in live else "down"
            regions[region] = {
                "up": running and app_alive and failure is None,
                "app_urls": [
                    f"http://127.0.0.1:{self.ports.worker(region, i)}" for i in range(workers)
                ]
                if running
                else [],
                "db": {"role": role, "dsn": self.db_dsn(region)},
                "database_of_apps": state.get("database_of", {}).get(region),
                "failure": failure,
            }
        status: dict[str, Any] = {
            "running": running,
            "edge": self.edge_url,
            "state_dir": str(self.dir),
            "regions": regions,
        }
        if running and regions["dr"]["db"]["role"] == "standby":
            rep = self._pg("dr").replication_state()
            status["replication"] = {"state": rep.state, "lag_s": round(rep.lag_s, 3)}
        else:
            status["replication"] = {"state": "none", "lag_s": None}
        if running:
            records = call("GET", f"{self.edge_url}/_edge/records", timeout=1.0)
            status["edge_records"] = records.body if records.ok else []
            status["up_seconds"] = state.get("up_seconds")
        return LabStatus(status)

    def replication(self) -> ReplicationState:
        self._require_up()
        return self._pg("dr").replication_state()

    # -- region failures -----------------------------------------------------

    def _region_processes(self, region: str) -> list[str]:
        state = self._state()
        workers = [f"app-{region}-{i}" for i in range(state["workers"][region])]
        return [*workers, f"pg-{region}", f"gw-{region}"]

    def fail_region(self, region: str, mode: str) -> None:
        """Inject a region failure: power-off, blackhole or partition."""
        self._check_region(region)
        if mode not in FAILURE_MODES:
            raise LabError(
                f"unknown failure mode {mode!r}; expected one of {', '.join(FAILURE_MODES)}"
            )
        state = self._require_up()
        if state["failures"].get(region):
            raise LabError(f"region {region} has already failed ({state['failures'][region]})")
        if mode == "power-off":
            kill_recorded(self.pid_dir, self._region_processes(region))
            cleanup_stale(self.dir / "pg" / region)
        elif mode == "blackhole":
            self._signal(self._region_processes(region), signal.SIGSTOP)
        else:
            self._apply_cuts({**state["failures"], region: mode})
        state["failures"][region] = mode
        self._save(state)

    def _signal(self, names: list[str], sig: signal.Signals) -> None:
        live = recorded(self.pid_dir)
        for name in names:
            if name in live:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(live[name], sig)

    def restore_region(self, region: str) -> None:
        """Undo ``fail_region``. After a power-off, a database whose role was taken over
        by a promoted standby is kept down (no split brain)."""
        self._check_region(region)
        state = self._require_up()
        mode = state["failures"].get(region)
        if mode is None:
            return
        if mode == "blackhole":
            self._signal(self._region_processes(region), signal.SIGCONT)
        elif mode != "partition":  # power-off
            self._gateway_state(region).unlink(missing_ok=True)
            self._spawn_gateway(region)
            self._wait_until(
                lambda: self._gateway_reports(region) is not None, 10, f"the {region} gateway"
            )
            superseded = region == "primary" and "dr" in state["promoted"]
            if not superseded:
                self._pg(region).start()
            for i in range(state["workers"][region]):
                db_region = state["database_of"][region]
                self._spawn_worker(region, i, self.app_dsn(region, db_region))
            self._wait_http(
                [
                    f"http://127.0.0.1:{self.ports.worker(region, i)}/health"
                    for i in range(state["workers"][region])
                ]
            )
        state["failures"][region] = None
        self._apply_cuts(state["failures"])  # this region's gateway, and the other's
        self._save(state)

    # -- DR actions ----------------------------------------------------------

    def fail_over_dns(self, to_region: str) -> None:
        """UPSERT the failover records so ``to_region`` is PRIMARY."""
        self._check_region(to_region)
        self._require_up()
        self.change_records(
            [
                {
                    "action": "UPSERT",
                    "record": {"name": "shop", "role": "PRIMARY", "region": to_region},
                },
                {
                    "action": "UPSERT",
                    "record": {"name": "shop", "role": "SECONDARY", "region": OTHER[to_region]},
                },
            ]
        )

    def change_records(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The lab's ``change-resource-record-sets``."""
        reply = call("POST", f"{self.edge_url}/_edge/records", {"changes": changes}, timeout=2.0)
        if not reply.ok:
            raise LabError(
                f"edge refused the record change: {reply.status} {reply.body or reply.error}"
            )
        records: list[dict[str, Any]] = reply.body
        return records

    def scale_region(self, region: str, workers: int) -> None:
        """Run ``workers`` order-service workers in ``region``; returns when they answer."""
        self._check_region(region)
        if not 1 <= workers <= MAX_WORKERS:
            raise LabError(f"workers must be 1..{MAX_WORKERS}, not {workers}")
        state = self._require_up()
        current = state["workers"][region]
        dsn = self.app_dsn(region, state["database_of"][region])
        for i in range(current, workers):
            self._spawn_worker(region, i, dsn)
        if workers < current:
            kill_recorded(self.pid_dir, [f"app-{region}-{i}" for i in range(workers, current)])
        for i in range(workers):  # ready = listening; its database may still be unreachable
            self._wait_tcp(self.ports.worker(region, i), timeout=20.0)
        reply = call(
            "POST",
            f"{self.edge_url}/_edge/backends",
            {"region": region, "urls": self._backends(region, workers)},
        )
        if not reply.ok:
            raise LabError(f"edge refused new backends for {region}: {reply.error or reply.status}")
        state["workers"][region] = workers
        self._save(state)

    def promote_database(self, region: str) -> float:
        """Promote the region's standby; returns seconds until it took writes."""
        self._check_region(region)
        state = self._require_up()
        pg = self._pg(region)
        if pg.role() != "standby":
            raise LabError(f"the {region} database is not a standby (role {pg.role()})")
        seconds = pg.promote()
        state["promoted"] = sorted({*state["promoted"], region})
        self._save(state)
        return seconds

    def repoint_applications(self, region: str, database_region: str) -> None:
        """Point ``region``'s workers at ``database_region``'s database (set env + rollout)."""
        self._check_region(region)
        state = self._require_up()
        dsn = self.app_dsn(region, database_region)
        urls = [
            f"http://127.0.0.1:{self.ports.worker(region, i)}/_admin/database"
            for i in range(state["workers"][region])
        ]
        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            replies = list(pool.map(lambda u: call("POST", u, {"dsn": dsn}, timeout=2.0), urls))
        failed = [u for u, r in zip(urls, replies, strict=True) if not r.ok]
        if failed:
            raise LabError(f"workers did not take the new database: {', '.join(failed)}")
        state["database_of"][region] = database_region
        self._save(state)

    def verify_services(self, region: str | None = None, timeout_s: float = 2.0) -> ServiceCheck:
        """Health, then the critical flows (order, read back, browse), through the edge or,
        for a region, through its gateway (as the outside world reaches it). Stops at the
        first failed check."""
        if region is not None:
            self._check_region(region)
        self._require_up()
        base = (
            self.edge_url
            if region is None
            else f"http://127.0.0.1:{self.ports.gateway_worker(region, 0)}"
        )
        return verify_http(base, region, timeout_s)

    @staticmethod
    def _wait_tcp(port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise LabError(f"port {port} not accepting after {timeout}s") from exc
                time.sleep(0.05)

    def _wait_until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise LabError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.05)
