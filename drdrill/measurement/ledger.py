"""The write ledger: every write a client sent, whether it was acknowledged, and when.

After recovery the ledger is checked against the surviving database. A write is

- **lost** when it was acknowledged before ``t_fault`` and is absent now;
- **in doubt** when it was not acknowledged (error or timeout) yet is present —
  a commit whose acknowledgement was lost (PostgreSQL does this), not an error;
- **never acked** when it was not acknowledged and is absent (the client was told).

A write acknowledged *after* ``t_fault`` and absent is not in the definition's
definition of lost. When the recovery repaired the data by restoring a backup to a
point before the fault (a data corruption, ransomware: the drill declares the restored
database serving at ``restored_ns``), a write acknowledged between the fault and that
moment went to the database the restore replaced: the repair discards it by design, and
it is counted as ``discarded_by_restore`` (orders to replay by hand, not a broken
drill). Any other write acknowledged after ``t_fault`` and absent is counted as
``lost_after_fault``, because it means split brain or a broken restore, and the drill
must say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drdrill.errors import MeasurementError
from drdrill.measurement.results import Bounds, LedgerSummary
from drdrill.support.redaction import redact

__all__ = [
    "Reconciliation",
    "Write",
    "rpo",
]


@dataclass(frozen=True)
class Write:
    """One write a client sent."""

    id: str
    client: str
    seq: int
    send_ns: int
    ack_ns: int | None
    """When the acknowledgement arrived; None if it never did."""
    status: int = 0

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Write:
        """A write from one line of a JSONL ledger (Locust's checkouts); KeyError,
        TypeError or ValueError when the line is no write."""
        ack = raw.get("ack_ns")
        return cls(
            id=str(raw["id"]),
            client=str(raw.get("client", "locust")),
            seq=int(raw.get("seq") or 0),
            send_ns=int(raw["send_ns"]),
            ack_ns=None if ack is None else int(ack),
            status=int(raw.get("status") or 0),
        )


@dataclass(frozen=True)
class Reconciliation:
    """The ledger next to what the surviving database holds."""

    writes: tuple[Write, ...]
    present: frozenset[str]
    t_fault_ns: int | None
    restored_ns: int | None = None
    """When the recovery declared a database restored from a backup serving (module
    docstring); None when the recovery restored none."""

    def summary(self) -> LedgerSummary:
        fault, restored = self.t_fault_ns, self.restored_ns
        acked = [(w, w.ack_ns) for w in self.writes if w.ack_ns is not None]
        absent = [(w, ack) for w, ack in acked if w.id not in self.present]
        lost = [w for w, ack in absent if fault is None or ack <= fault]
        after = [(w, ack) for w, ack in absent if fault is not None and ack > fault]
        discarded = [w for w, ack in after if restored is not None and ack <= restored]
        lost_after = [w for w, ack in after if restored is None or ack > restored]
        unacked = [w for w in self.writes if w.ack_ns is None]
        in_doubt = [w for w in unacked if w.id in self.present]
        return LedgerSummary(
            acked=len(acked),
            lost=len(lost),
            in_doubt=len(in_doubt),
            never_acked=len(unacked) - len(in_doubt),
            lost_ids=tuple(w.id for w in lost),
            in_doubt_ids=tuple(w.id for w in in_doubt),
            lost_after_fault=len(lost_after),
            lost_after_fault_ids=tuple(w.id for w in lost_after),
            discarded_by_restore=len(discarded),
            discarded_by_restore_ids=tuple(w.id for w in discarded),
        )

    def to_json(self, checked_against: str | None = None) -> dict[str, Any]:
        """The reconciliation as ``ledger.json`` holds it: the counts, the lost, in-doubt
        lost-after-fault and discarded-by-restore ids, and (password redacted) the database
        it was checked against."""
        summary = self.summary()
        return {
            "acked": summary.acked,
            "lost": summary.lost,
            "in_doubt": summary.in_doubt,
            "never_acked": summary.never_acked,
            "lost_after_fault": summary.lost_after_fault,
            "lost_ids": list(summary.lost_ids),
            "in_doubt_ids": list(summary.in_doubt_ids),
            "lost_after_fault_ids": list(summary.lost_after_fault_ids),
            "discarded_by_restore": summary.discarded_by_restore,
            "discarded_by_restore_ids": list(summary.discarded_by_restore_ids),
            "checked_against": None if checked_against is None else redact(checked_against),
        }


def rpo(reconciliation: Reconciliation) -> tuple[float, Bounds]:
    """RPO and its bounds, in seconds (docs/measurements.md).

    RPO = 0 when nothing acknowledged before t_fault was lost, else t_fault minus
    the ack time of the last surviving acknowledged write before the first lost
    one. The true loss window began between that survivor's ack and the first
    lost write's ack, so the bounds are [t_fault − ack(first lost), RPO]. With
    nothing lost the bounds are [0, t_fault − last ack before t_fault]: a write
    in that gap could have been lost unobserved (the canary's resolution).
    """
    fault = reconciliation.t_fault_ns
    if fault is None:
        raise MeasurementError("RPO needs t_fault: no fault was injected")
    acked = sorted(
        (w for w in reconciliation.writes if w.ack_ns is not None and w.ack_ns <= fault),
        key=lambda w: w.ack_ns or 0,
    )
    if not acked:
        return 0.0, Bounds(0.0, 0.0)
    lost = [w for w in acked if w.id not in reconciliation.present]
    if not lost:
        return 0.0, Bounds(0.0, (fault - (acked[-1].ack_ns or fault)) / 1e9)
    first_lost = lost[0]
    survivors = [
        w
        for w in acked
        if w.id in reconciliation.present and (w.ack_ns or 0) < (first_lost.ack_ns or 0)
    ]
    anchor = survivors[-1].ack_ns if survivors else acked[0].send_ns
    value = (fault - (anchor or fault)) / 1e9
    low = (fault - (first_lost.ack_ns or fault)) / 1e9
    return value, Bounds(low, value)
