"""drdrill as a pytest plugin: a DR team's own repository drills with plain pytest.

Installing drdrill registers this module under the ``pytest11`` entry point, so in any
project pytest gets the drill options, the drill fixtures, the drill markers and every
stock step definition (``drdrill.steps``). The project writes its own
``features/*.feature``, binds them in a test module with ``scenarios(...)`` and keeps
its ``drdrill.yaml`` next to its pytest configuration::

    pytest -m full --target lab            the bi-annual full drill on the lab
    pytest -m partial --target aws-staging the quarterly partial test
    pytest -k backup_restore               the monthly backup restoration

A session that drills a non-lab target for real (``--confirm``) names who approved it
(``--approved-by NAME``, else asked on the terminal, else refused with exit code 2).
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from drdrill.config import DrillConfig, load_config
from drdrill.errors import CapabilityMissing, DrillError
from drdrill.orchestration.approval import approver, ask_approver, needs_approval
from drdrill.orchestration.drill import Drill
from drdrill.orchestration.stopping import stop_button
from drdrill.report.allure import attach_file, attach_text
from drdrill.support.redaction import redact
from drdrill.targets import target_lock

__all__ = ["DRILL_KINDS", "MARKERS"]

# pytest-bdd finds steps through fixtures, so step modules registered as plugins serve
# the features of every test module, wherever it lives.
pytest_plugins = [
    "drdrill.steps.platform",
    "drdrill.steps.disaster",
    "drdrill.steps.activation",
    "drdrill.steps.verification",
    "drdrill.steps.backup",
    "drdrill.steps.failback",
]

DRILL_KINDS = ("full", "partial", "backup_restore", "failback")
"""The drill kinds, as feature tags: each drill is recorded under the kind it carries."""

MARKERS = {
    "full": "the bi-annual full region-failure drill",
    "partial": "the quarterly partial DR test (one phase at a time)",
    "backup_restore": "the monthly backup restoration drills",
    "failback": "the planned failback after a DR activation (the return trip)",
}
"""The feature tags a user's drills carry, registered in every project that installs
drdrill (drdrill's own test suite registers its markers in its own pyproject.toml)."""


DRILL_ERROR = pytest.StashKey[BaseException]()
"""What ended a scenario's call phase (a failed step, a skip, Ctrl-C), for its drill."""

APPROVED_BY = pytest.StashKey[str]()
"""Who approved this session's drills (``--approved-by``, or asked on the terminal)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("drdrill", "DR drills")
    group.addoption("--target", default="lab", help="target profile to drill (default: lab)")
    group.addoption(
        "--drill-config",
        default=None,
        help="drill configuration file (default: ./drdrill.yaml if present)",
    )
    group.addoption(
        "--dry-run", action="store_true", help="change nothing: skip every drill, see drdrill plan"
    )
    group.addoption("--confirm", action="store_true", help="allow mutating a non-lab target")
    group.addoption(
        "--approved-by",
        default=None,
        metavar="NAME",
        help="who approved the drill (recorded before the fault); a non-lab target needs it: "
        "asked on a terminal, else the session is refused (exit 2)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Registered here so --strict-markers accepts the drill tags in any project.
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any drill runs: a session that drills a non-lab target for real needs to say
    who approved it — ``--approved-by``, or asked on the terminal; without either it is
    refused, exit code 2, before anything is touched (``drdrill.orchestration.approval``)."""
    config = session.config
    given = config.getoption("--approved-by")
    if given is not None:
        try:
            config.stash[APPROVED_BY] = approver(given)
        except DrillError as exc:
            pytest.exit(f"drdrill: {exc}", returncode=2)
        return
    # Any test may drill (pytest-bdd's scenarios reach the drill fixture only at run time):
    # a session that selected tests on a non-lab target, for real, names its approver.
    if config.getoption("--collect-only") or not session.items:
        return
    target = str(config.getoption("--target"))
    try:
        needed = needs_approval(
            load_config(config.getoption("--drill-config"), root=config.invocation_params.dir),
            target,
            confirm=bool(config.getoption("--confirm")),
            dry_run=bool(config.getoption("--dry-run")),
        )
    except DrillError:
        return  # a bad configuration or target: each drill reports it, as without approval
    if needed:
        try:
            config.stash[APPROVED_BY] = _ask(config, target)
        except DrillError as exc:
            pytest.exit(f"drdrill: {redact(str(exc))}", returncode=2)


def _ask(config: pytest.Config, target: str) -> str:
    """The approver's name from the terminal, pytest's capture suspended meanwhile."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend(in_=True)
    try:
        return ask_approver(sys.stdin, target=target, kind="pytest")
    finally:
        if capture is not None:
            capture.resume()


@pytest.fixture(scope="session")
def drill_config(request: pytest.FixtureRequest) -> DrillConfig:
    """The project's drill configuration: ``--drill-config``, else ``drdrill.yaml`` in the
    directory pytest runs from (like every drdrill command), else the built-in defaults
    (the DR plan's targets)."""
    return load_config(
        request.config.getoption("--drill-config"), root=request.config.invocation_params.dir
    )


def _kind(request: pytest.FixtureRequest) -> str:
    for kind in DRILL_KINDS:
        if request.node.get_closest_marker(kind):
            return kind
    return "drill"


@pytest.fixture(scope="session")
def target_held(request: pytest.FixtureRequest, drill_config: DrillConfig) -> Iterator[None]:
    """The target's lock for the whole session: a second drill or a lab command on the
    same target is refused at once naming this session (``drdrill abort`` stops it)."""
    name = request.config.getoption("--target")
    lock = target_lock(drill_config, name, command=f"pytest drills on {name}")
    with lock:
        yield


@pytest.fixture(scope="session")
def lab_for_session(
    request: pytest.FixtureRequest, drill_config: DrillConfig, target_held: None
) -> Iterator[None]:
    """A lab this session brought up is taken down when the session ends (also under
    the AWS twin, whose emulators end with it, or alone when the lab was up before)."""
    kind = drill_config.target(request.config.getoption("--target")).kind
    if kind not in ("lab", "aws-twin"):
        yield
        return
    from drdrill.lab import Lab

    lab = Lab.from_config(drill_config)
    was_running = lab.is_running()
    yield
    if not was_running:
        lab.down()
    elif kind == "aws-twin":
        from drdrill.targets.twin.emulators import stop_control_plane

        stop_control_plane(lab)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when in ("setup", "call") and call.excinfo is not None:
        item.stash[DRILL_ERROR] = call.excinfo.value
    return report


@pytest.fixture
def drill(
    request: pytest.FixtureRequest, drill_config: DrillConfig, lab_for_session: None
) -> Iterator[Drill]:
    """One drill per scenario; always rolled back, pass, fail, Ctrl-C or SIGTERM. With
    ``--dry-run`` no drill runs at all (a drill changes its target by design): every
    scenario is skipped, pointing at the runbook that says what it would do."""
    if request.config.getoption("--dry-run"):
        pytest.skip(
            "dry run: a drill changes its target, so nothing was executed; what it would "
            f"do: drdrill plan {_kind(request)} --target {request.config.getoption('--target')}"
        )
    with stop_button() as stop:
        the_drill = Drill(
            drill_config,
            target_name=request.config.getoption("--target"),
            kind=_kind(request),
            confirm=request.config.getoption("--confirm"),
            dry_run=request.config.getoption("--dry-run"),
            stop=stop,
            approved_by=request.config.stash.get(APPROVED_BY, None),
        )
        try:
            yield the_drill
        finally:
            outcome = the_drill.close(_as_drill_error(request.node.stash.get(DRILL_ERROR, None)))
            attach_text(
                f"drill {the_drill.drill_id}: {outcome} (reached {the_drill.ended_in}; "
                f"stopped by: {the_drill.stop.reason or 'nothing'})",
                "Drill outcome",
            )
            # the page as the drill ended (its outcome, the trend with this drill in it)
            attach_file(the_drill.report_dir / "summary.html", "Drill summary (page)")


def _as_drill_error(error: BaseException | None) -> BaseException | None:
    """pytest's own outcomes in the drill's words: a skip is a missing capability, a
    ``pytest.fail`` a failed check."""
    if isinstance(error, pytest.skip.Exception):
        return CapabilityMissing(str(error))
    if isinstance(error, pytest.fail.Exception):
        return AssertionError(str(error))
    return error


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With ``--alluredir``, the run's target and configuration go into the Allure
    report's environment."""
    results = session.config.getoption("--alluredir", default=None)
    if not results:
        return
    from drdrill.report.allure import write_allure_metadata

    write_allure_metadata(
        Path(results),
        {
            "target": str(session.config.getoption("--target")),
            "drill_config": str(session.config.getoption("--drill-config") or "defaults"),
        },
    )
