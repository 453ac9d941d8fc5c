"""Every command imports what it uses: ``drdrill --help`` loads no heavy library, and a
check of the lab loads nothing of AWS, Kubernetes, the report's pictures or Locust.

Each command runs in a fresh interpreter, which then lists the libraries it holds. No
lab is brought up: against a lab that is down every check still runs (and fails), so
the command's whole import path is taken; only the object-replication check, which on a
running lab talks to the lab's S3 store through boto3, stops before its client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drdrill.stock import DRILL_EXPERIMENTS, EXPERIMENTS, experiments_for
from tests.ports import port_block

HEAVY = (
    "boto3",
    "botocore",
    "chaosaws",
    "chaoslib",
    "kubernetes",
    "matplotlib",
    "jinja2",
    "pydantic",
    "psycopg",
    "locust",
    "moto",
)
NOT_FOR_THE_LAB = ("boto3", "botocore", "chaosaws", "kubernetes", "matplotlib", "jinja2", "locust")

_RUN = """
import json, sys
from drdrill.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": sorted(m for m in %r if m in sys.modules)}))
"""


def _loaded_by(args: list[str], cwd: Path) -> tuple[object, set[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN % (HEAVY,), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
        timeout=120,
    )
    *output, last = done.stdout.strip().splitlines()
    result = json.loads(last)
    return result["code"], set(result["loaded"]), "\n".join(output)


def test_help_loads_no_heavy_library(tmp_path: Path) -> None:
    code, loaded, output = _loaded_by(["--help"], tmp_path)
    assert code == 0 and "check" in output and "lab" in output
    assert loaded == set()


def test_a_lab_check_loads_nothing_of_aws_kubernetes_reports_or_locust(tmp_path: Path) -> None:
    # a lab that is not up (ports in this suite's range, nothing listens there)
    config = tmp_path / "drdrill.yaml"
    config.write_text(f"lab:\n  base_port: {port_block()}\n  state_dir: {tmp_path / 'lab'}\n")
    code, loaded, output = _loaded_by(["--drill-config", str(config), "check", "--json"], tmp_path)
    report = json.loads(output)
    assert code == 1 and report["ready"] is False
    assert report["checks"]["replication"]["status"] == "fail"
    # the experiments were validated (chaoslib imported each activity module)
    assert report["checks"]["experiments"]["status"] == "ok"
    assert {"chaoslib", "pydantic", "psycopg"} <= loaded
    assert not loaded & set(NOT_FOR_THE_LAB), loaded & set(NOT_FOR_THE_LAB)


def test_the_lab_checks_the_drill_experiments_and_aws_targets_every_experiment() -> None:
    lab = experiments_for("lab")
    assert sorted(p.name for p in lab) == sorted(DRILL_EXPERIMENTS)
    assert all(p.is_file() for p in lab)
    for kind in ("aws", "aws-twin"):
        names = {p.name for p in experiments_for(kind)}
        assert names == {p.name for p in EXPERIMENTS.glob("*.json")}
        assert "aws-region-failure.json" in names
