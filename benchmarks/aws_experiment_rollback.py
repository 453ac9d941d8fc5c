"""How fast does ``experiments/aws-region-failure.json`` start its fault and roll it back?

Against a moto server (the platform and the FIS stand-in of
``tests/chaos/test_aws_region_failure.py``), ``--runs`` times each: a plain ``chaos run``
holding the fault 2 s, and one interrupted by Ctrl-C during the hold. From the journals:
the run's start to ``start_experiment`` returned, and the rollbacks' duration (stop this
run's experiments by tag + start the nodes left stopped); from outside: Ctrl-C to the
command's end. Each run checks the experiment ended ``stopped`` in moto. moto answers
at once: the figures are Chaos Toolkit's, chaostoolkit-aws's and botocore's own cost
(client and model loading), not AWS's.

    .venv/bin/python benchmarks/aws_experiment_rollback.py [--runs 5] [--port 23302]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.chaos.test_aws_region_failure import Platform, chaos_run, finished


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _figures(journal: dict[str, Any]) -> tuple[float, float]:
    to_fault = _seconds(journal["start"], journal["run"][0]["end"])
    rollbacks = journal["rollbacks"]
    return to_fault, _seconds(rollbacks[0]["start"], rollbacks[-1]["end"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=23302)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    to_fault: list[float] = []
    rollback: list[float] = []
    ctrl_c_to_end: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.runs):
                platform = Platform(url, f"bench-{n}")
                journal_path = Path(tmp) / f"{n}.json"
                process = chaos_run(platform.env(fault_duration_s=2), journal_path)
                experiment = platform.play_fis()
                journal = finished(process, journal_path)
                assert platform.status(experiment["id"]) == "stopped", journal["_output"]
                figures = _figures(journal)
                to_fault.append(figures[0])
                rollback.append(figures[1])

                platform = Platform(url, f"bench-ctrl-c-{n}")
                journal_path = Path(tmp) / f"ctrl-c-{n}.json"
                process = chaos_run(platform.env(fault_duration_s=600), journal_path)
                experiment = platform.play_fis()
                time.sleep(0.5)
                pressed = time.monotonic()
                process.send_signal(signal.SIGINT)
                journal = finished(process, journal_path)
                ctrl_c_to_end.append(time.monotonic() - pressed)
                assert journal["status"] == "interrupted", journal["_output"]
                assert platform.status(experiment["id"]) == "stopped", journal["_output"]
                figures = _figures(journal)
                to_fault.append(figures[0])
                rollback.append(figures[1])
    finally:
        server.stop()
    for name, values in (
        ("run start -> start_experiment returned", to_fault),
        ("rollbacks (stop by tag + start nodes)", rollback),
        ("Ctrl-C -> chaos run ended, rolled back", ctrl_c_to_end),
    ):
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name}: median {statistics.median(values):.2f} s  [{shown}]")


if __name__ == "__main__":
    main()
