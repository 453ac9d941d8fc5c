"""``drdrill plan`` on an AWS profile: the runbook, with no call to anything at all."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

# Runs drdrill's CLI with an audit hook that reports every outgoing connection attempt
# (AWS, Kubernetes, the instance-metadata credential lookup, anything).
WATCHED_CLI = """
import sys
def hook(event, args):
    if event == "socket.connect":
        print(f"CONNECT {args[1]!r}", file=sys.stderr, flush=True)
sys.addaudithook(hook)
from drdrill.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def listener() -> Iterator[tuple[int, list[object]]]:
    """A local TCP port that records every connection made to it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    seen: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            seen.append(peer)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


def profile(port: int, failure_method: str, kubeconfig: Path) -> dict[str, object]:
    local = f"http://127.0.0.1:{port}"

    def region(name: str, side: str) -> dict[str, object]:
        return {
            "name": name,
            "endpoint": local,
            "eks_cluster": f"shop-{side}",
            "nodegroup": "apps",
            "scaling": {"min_size": 3, "max_size": 9, "desired_size": 3},
            "kube_context": f"ctx-{side}",
            "rds_instance": f"db-{side}",
            "database_url": f"postgresql://app:pw@db-{side}:5432/shop",
            "reader_dsn": f"postgresql://reader:pw@127.0.0.1:{port}/shop",
            "s3_buckets": [f"orders-{side}"],
            "fis_template_id": "EXT1",
        }

    return {
        "kind": "aws",
        "allowed_account_ids": ["123456789012"],
        "global_endpoint": local,
        "endpoint_url": local,
        "kubeconfig": str(kubeconfig),
        "failure_method": failure_method,
        "dns": {
            "hosted_zone_id": "Z1",
            "record_name": "shop.example.com",
            "targets": {
                "primary": {"value": "p.example.com", "health_check_id": "hc-1"},
                "dr": {"value": "d.example.com"},
            },
        },
        "regions": {"primary": region("us-east-1", "primary"), "dr": region("us-west-2", "dr")},
    }


@pytest.mark.parametrize("kind", ["full", "partial", "backup_restore", "failback"])
@pytest.mark.parametrize("failure_method", ["scale-nodegroups", "stop-instances", "fis"])
def test_a_plan_makes_no_call_and_needs_no_kubeconfig_or_credentials(
    tmp_path: Path, listener: tuple[int, list[object]], kind: str, failure_method: str
) -> None:
    port, seen = listener
    config = tmp_path / "drdrill.yaml"
    targets = {"aws-x": profile(port, failure_method, tmp_path / "no-such-kubeconfig")}
    config.write_text(yaml.safe_dump({"targets": targets}))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("KUBECONFIG", "HOME")
    }
    env["HOME"] = str(tmp_path)  # no ~/.aws, no ~/.kube

    done = subprocess.run(
        [
            *(sys.executable, "-c", WATCHED_CLI, "--drill-config", str(config)),
            *("plan", kind, "--target", "aws-x"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "CONNECT" not in done.stderr
    assert seen == []
    assert "would call:" in done.stdout
    assert "mutating calls would be made; none was." in done.stdout
