"""A running drill's side of its journal: what recovers the drill if its process dies.

``JournalKeeper`` writes the drill's journal (``drdrill.orchestration.journal``) from the
steady state on: where the drill is, what it is about to inject, every target call as it
starts (it listens to the audit trail), and the processes the drill started (Locust, a
partition's in-region clients) by pid, group and start time. A drill refuses to start
over a journal another drill left unfinished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from drdrill.orchestration import journal
from drdrill.orchestration.journal import DrillJournal, Injection, JournaledProcess
from drdrill.orchestration.outcome import DRILL_STATES, describe
from drdrill.records.audit import AuditTrail

__all__ = ["JournalKeeper", "best_effort", "children", "refuse_unfinished", "target_calls"]


def refuse_unfinished(path: Path) -> None:
    """``DrillAbandoned`` when the journal at ``path`` holds a drill that did not finish:
    abandoned, or an earlier one of this very process whose close did not complete
    (overwriting its journal would lose it)."""
    found = journal.read(path)
    if found is None or found.done:
        return
    if journal.is_abandoned(found) or found.holder.pid == os.getpid():
        raise journal.abandoned_error(found)


class JournalKeeper:
    """The journal of one drill at ``path``; ``start(state)`` makes its first record (the
    drill's identity), once the drill reaches its steady state."""

    def __init__(self, path: Path, audit: AuditTrail, start: Callable[[str], DrillJournal]) -> None:
        self.path = path
        self._audit = audit
        self._start = start
        self._journal: DrillJournal | None = None
        self._lock = threading.Lock()
        self.injected: Injection | None = None
        self.started: list[JournaledProcess] = []
        """Processes the drill started that outlive it unless ended (Locust, the fault's)."""

    @property
    def keeping(self) -> bool:
        """True once the drill journals (it reached its steady state)."""
        return self._journal is not None

    def write(self, state: str, scenario: str) -> None:
        """Journal that the drill is in ``state`` (nothing before ``steady``)."""
        if DRILL_STATES.index(state) < DRILL_STATES.index("steady"):
            return
        with self._lock:
            if self._journal is None and state in ("failing_back", "done"):
                return  # closed before its steady state: nothing to recover
            if self._journal is None:
                self._journal = self._start(state)
            self._journal = journal.write(
                self.path,
                dataclasses.replace(
                    self._journal,
                    state=state,
                    scenario=scenario,
                    injected=self.injected,
                    changes=target_calls(self._audit.records()),
                    processes=tuple(self.started),
                ),
            )

    def add_processes(self, started: list[tuple[int | None, str]]) -> bool:
        """Take processes the drill just started (pid, role); True when there were any."""
        found = [JournaledProcess.of(pid, role) for pid, role in started if pid is not None]
        self.started += [p for p in found if p is not None]
        return bool(found)


def target_calls(audit: list[dict[str, Any]]) -> tuple[str, ...]:
    """The target calls of an audit trail so far, one ``action key=value ...`` each."""
    return tuple(
        " ".join([str(r["action"]), *(f"{k}={v}" for k, v in (r.get("parameters") or {}).items())])
        for r in audit
        if r.get("outcome") == "started" and not str(r.get("action", "")).startswith("drill_")
    )


def children() -> dict[int, str]:
    """This process's children now: pid → what runs (its command line, shortened)."""
    found = {}
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            argv = child.cmdline()
            words = argv[2:5] if argv[1:2] == ["-m"] else argv[:3]
            found[child.pid] = " ".join(words)[:80] or child.name()
    return found


def best_effort(what: str, write: Callable[[], object]) -> None:
    """Bookkeeping during a rollback: a write that fails (a full disk) is said on stderr,
    never allowed to stop the rollback."""
    try:
        write()
    except Exception as exc:
        print(f"drdrill: {what} not written: {describe(exc)}", file=sys.stderr, flush=True)
