"""Does the lab count exactly the divergent writes a split brain leaves?

Brings up a lab of its own, then ``--cycles`` times: partition the primary region (its
in-region client group keeps writing through the region's own workers), run the DR
activation's actions, let both databases take writes for ``--split-s`` seconds, restore
the region (fence the old primary, count the divergent writes, heal), then query both
databases directly with psycopg — the orders the old primary committed after the
promotion that the promoted database lacks — before the failback rewinds the old
primary. Prints per cycle and as medians: the lab's count, the direct query's count,
whether the ids are the same, the in-region orders acknowledged, and how long the fence
+ count took.

    flock /tmp/drdrill-lab.lock .venv/bin/python benchmarks/split_brain_count.py \\
        [--cycles 3] [--split-s 2] [--base-port 25600]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from drdrill.lab import Lab, LabSettings

_COMMITTED_US = "(extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint"


def direct_divergence(lab: Lab, promoted_ns: int) -> set[str]:
    """Orders the old primary committed after the promotion and the new primary lacks."""
    with psycopg.connect(lab.db_dsn("primary")) as old:
        after = {
            str(r[0])
            for r in old.execute(
                f"SELECT id FROM orders WHERE {_COMMITTED_US} * 1000 > %s", (promoted_ns,)
            )
        }
    with psycopg.connect(lab.db_dsn("dr")) as new:
        on_new = {
            str(r[0])
            for r in new.execute("SELECT id FROM orders WHERE id = ANY(%s)", (list(after),))
        }
    return after - on_new


def cycle(lab: Lab, split_s: float) -> dict[str, object]:
    lab.fail_region("primary", "partition")
    lab.fail_over_dns("dr")
    lab.scale_region("dr", lab.settings.dr_scaled_workers)
    lab.promote_database("dr")
    lab.repoint_applications("dr", "dr")
    time.sleep(split_s)
    promoted_ns = lab.require_up().promoted_ns
    assert promoted_ns is not None
    started = time.monotonic()
    lab.restore_region("primary")
    restore_s = time.monotonic() - started
    direct = direct_divergence(lab, promoted_ns)
    counted = lab.divergence("primary")
    assert counted is not None
    lab.fail_back()
    return {
        "lab": counted.count,
        "direct": len(direct),
        "same_ids": {w.id for w in counted.writes} == direct,
        "in_region_acked": counted.acknowledged,
        "restore_s": round(restore_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--split-s", type=float, default=2.0)
    parser.add_argument("--base-port", type=int, default=25600)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="drdrill-split-brain-", dir="/tmp"))
    os.chmod(root, 0o755)
    lab = Lab(LabSettings(base_port=args.base_port, state_dir=root / "lab"))
    lab.up()
    rows = []
    try:
        for n in range(args.cycles):
            row = cycle(lab, args.split_s)
            rows.append(row)
            print(f"cycle {n + 1}: {row}", flush=True)
    finally:
        lab.down()
    for key in ("lab", "direct", "in_region_acked", "restore_s"):
        print(f"median {key}: {statistics.median(float(r[key]) for r in rows)}")  # type: ignore[arg-type]
    print(f"equal in every cycle: {all(r['lab'] == r['direct'] and r['same_ids'] for r in rows)}")


if __name__ == "__main__":
    main()
