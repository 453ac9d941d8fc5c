"""The DR activation experiment, phase by phase, on the aws target (moto + kmock).

The same experiment file the lab drill runs, through the same Chaos Toolkit runner
and timeline control. The application behind the global endpoint is a stand-in HTTP
shop started here (the emulated EKS runs no pods): it answers health and the
critical flows, so assessment and verification exercise their real HTTP checks.
moto and kmock time nothing: the phase durations below are not AWS timings.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aiohttp import web

from drdrill.audit import AuditTrail
from drdrill.chaos import runner
from drdrill.chaos.context import ChaosContext
from drdrill.config import DrillConfig
from drdrill.drill import EXPERIMENTS
from drdrill.phases import ACTIVATION_PHASES
from drdrill.targets.aws.profile import AwsProfile
from drdrill.targets.aws.target import AwsTarget
from drdrill.timeline import PHASE_END, Timeline

from .conftest import Controller, Emulators, make_platform

pytestmark = pytest.mark.aws
SHOP_PORT = 29200


@pytest.fixture
def shop() -> Iterator[str]:
    orders: dict[str, dict[str, object]] = {}

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        orders[body["id"]] = body
        return web.json_response(body, status=201)

    async def read(request: web.Request) -> web.Response:
        order = orders.get(request.match_info["id"])
        return web.json_response(order, status=200 if order else 404)

    async def products(request: web.Request) -> web.Response:
        return web.json_response([{"id": 1}])

    app = web.Application()
    app.add_routes(
        [
            web.get("/health", health),
            web.post("/orders", create),
            web.get("/orders/{id}", read),
            web.get("/products", products),
        ]
    )
    loop = asyncio.new_event_loop()
    runner_ = web.AppRunner(app)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner_.setup())
        loop.run_until_complete(web.TCPSite(runner_, "127.0.0.1", SHOP_PORT).start())
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    time.sleep(0.3)
    yield f"http://127.0.0.1:{SHOP_PORT}"
    asyncio.run_coroutine_threadsafe(runner_.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_the_activation_experiment_runs_every_phase_on_aws(
    moto_url: str, kube: Emulators, shop: str, tmp_path: Path
) -> None:
    base = make_platform(moto_url, kube.kubeconfig, "drill")
    # the failed region's load balancer is a closed port; dr's and the global one the shop
    regions = {
        "primary": base.regions["primary"].model_copy(update={"endpoint": "http://127.0.0.1:9"}),
        "dr": base.regions["dr"].model_copy(update={"endpoint": shop}),
    }
    profile: AwsProfile = base.model_copy(update={"global_endpoint": shop, "regions": regions})
    audit = AuditTrail(tmp_path / "audit.jsonl")
    target = AwsTarget(profile, "aws-test", confirm=True, audit=audit)
    timeline = Timeline(tmp_path / "timeline.jsonl")

    with Controller(kube.kubeconfig):
        journal = runner.run(
            EXPERIMENTS / "dr-activation.json",
            ChaosContext(target, DrillConfig(), timeline),
            journal_path=tmp_path / "journal.json",
        )

    assert journal["status"] == "completed", json.dumps(journal["run"], default=str)[:2000]
    assert [r["status"] for r in journal["run"]] == ["succeeded"] * 6
    ended = [(e.name, e.detail["ok"]) for e in timeline.events(PHASE_END)]
    assert ended == [(p.name, True) for p in ACTIVATION_PHASES]
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=moto_url)
    sets = r53.list_resource_record_sets(HostedZoneId=profile.dns.hosted_zone_id)
    primary = [r for r in sets["ResourceRecordSets"] if r.get("Failover") == "PRIMARY"]
    assert primary[0]["ResourceRecords"][0]["Value"] == "dr-alb.example.com"
    actions = [r["action"] for r in audit.records() if r["outcome"] == "succeeded"]
    assert "rds:promote_read_replica" in actions
    assert actions.count("kubernetes:patch_namespaced_deployment") == 2
