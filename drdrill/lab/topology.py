"""Where each part of one lab listens and keeps its files: regions, ports, paths, DSNs.

Ports are ``base_port`` + a fixed offset (see ``Ports``); everything on disk lives
under the state dir (see ``Topology``). Nothing here starts or reads a process.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from drdrill.errors import LabError, UnknownRegionError

__all__ = [
    "FAILURE_MODES",
    "MAX_WORKERS",
    "OTHER",
    "REGIONS",
    "STATE_FILE",
    "Ports",
    "Topology",
    "port_in_use",
]

REGIONS: tuple[str, ...] = ("primary", "dr")
"""The lab's two regions (the same names the drill's targets use)."""
OTHER = {"primary": "dr", "dr": "primary"}
FAILURE_MODES: tuple[str, ...] = ("power-off", "blackhole", "partition")
"""How a lab region can fail: processes killed, processes frozen, or network cut off."""
MAX_WORKERS = 8
STATE_FILE = "lab.json"
"""The lab's state file in its state dir (see ``drdrill.lab.state``)."""
"""Order-service workers a region can scale to (each has its port and gateway route)."""


@dataclass(frozen=True)
class Ports:
    """The lab's port plan: everything within base .. base+79."""

    base: int

    @property
    def edge(self) -> int:
        return self.base

    @property
    def objects(self) -> int:
        """The S3-compatible object store."""
        return self.base + 9

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
    """True when something already listens on (or holds) 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_region(region: str) -> None:
    """``UnknownRegionError`` unless ``region`` is one of the lab's regions."""
    if region not in REGIONS:
        raise UnknownRegionError(f"unknown region {region!r}; expected one of {', '.join(REGIONS)}")


def _dsn(port: int) -> str:
    # no password: trust auth on 127.0.0.1
    return f"postgresql://postgres@127.0.0.1:{port}/drdrill"


@dataclass(frozen=True)
class Topology:
    """One lab's ports and state dir: every address and path the lab's parts share.

    State dir layout: ``lab.json`` (see ``drdrill.lab.state``), ``pids/`` (one pid
    file per process), ``logs/``, ``pg/<region>/`` (data dirs), ``archive/`` (WAL),
    ``backups/``, ``restored/<instance>/`` and the gateways' control files.
    """

    ports: Ports
    dir: Path

    @classmethod
    def of(cls, base_port: int, state_dir: Path) -> Topology:
        return cls(Ports(base_port), state_dir)

    # -- paths ---------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.dir / STATE_FILE

    @property
    def pid_dir(self) -> Path:
        return self.dir / "pids"

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def archive(self) -> Path:
        """The primary's WAL archive."""
        return self.dir / "archive"

    @property
    def backups(self) -> Path:
        return self.dir / "backups"

    @property
    def restored(self) -> Path:
        """Where databases restored from backups live, one dir per instance."""
        return self.dir / "restored"

    def data_dir(self, region: str) -> Path:
        return self.dir / "pg" / region

    def gateway_state(self, region: str) -> Path:
        """What the region's gateway reports it cuts (written by the gateway)."""
        return self.dir / f"gw-{region}.state"

    def gateway_control(self, region: str) -> Path:
        """What the region's gateway is told to cut (read on SIGUSR1)."""
        return self.dir / f"gw-{region}.control"

    # -- addresses -----------------------------------------------------------

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.edge}"

    def worker_url(self, region: str, index: int) -> str:
        """An order-service worker, reached directly."""
        return f"http://127.0.0.1:{self.ports.worker(region, index)}"

    def gateway_url(self, region: str, index: int = 0) -> str:
        """An order-service worker as the outside world reaches it: through its gateway."""
        return f"http://127.0.0.1:{self.ports.gateway_worker(region, index)}"

    def db_dsn(self, region: str) -> str:
        """The region's own database."""
        check_region(region)
        return _dsn(self.ports.database(region))

    def app_dsn(self, app_region: str, db_region: str) -> str:
        """How ``app_region``'s workers reach ``db_region``'s database: directly in their
        own region, through ``db_region``'s gateway across regions; a restored
        instance (backup drills) directly."""
        check_region(app_region)
        if db_region not in REGIONS:
            return self.restored_dsn(db_region)
        if app_region == db_region:
            return _dsn(self.ports.database(db_region))
        return _dsn(self.ports.gateway_database(db_region))

    def restored_port_file(self, instance: str) -> Path:
        return self.restored / instance / "drdrill-port"

    def restored_dsn(self, instance: str) -> str:
        """A database restored from a backup (``LabError`` when there is none of that name)."""
        port_file = self.restored_port_file(instance)
        try:
            return _dsn(int(port_file.read_text()))
        except (OSError, ValueError) as exc:
            raise LabError(f"no restored instance named {instance!r}") from exc
