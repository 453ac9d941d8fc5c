"""The lab's edge: the global endpoint, modelled on Route 53 failover routing.

Records (``PRIMARY``/``SECONDARY`` failover records, or ``WEIGHTED`` ones for a
gradual failback) name a region; health checks probe every region's workers at
``interval`` and mark it unhealthy after ``threshold`` consecutive failures (and
healthy again after as many successes). A failover answer is cached for the
record ``ttl``: clients see a change only once it expires, as with DNS. With no
region healthy the edge answers 503 ("no healthy region") and caches nothing: the
first region healthy again is answered at once (Route 53 would fail open instead).

Admin API on the same port (the lab's ``change-resource-record-sets``)::

    GET  /_edge/records
    POST /_edge/records     {"changes": [{"action": "UPSERT"|"DELETE", "record": {...}}]}
    POST /_edge/backends    {"region": "dr", "urls": ["http://127.0.0.1:P", ...]}
    GET  /_edge/resolve     {"region": ..., "healthy": {"primary": bool, "dr": bool}}

Run as ``python -m drdrill.lab.edge --config edge.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["EdgeState", "Record", "build_app", "main"]

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Record:
    """One record of the global name."""

    name: str
    role: str
    """PRIMARY, SECONDARY or WEIGHTED."""
    region: str
    weight: int | None = None
    health_check: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity for UPSERT: a failover record by (name, role), weighted by region too."""
        return (self.name, self.role, self.region if self.role == "WEIGHTED" else "")

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Record:
        role = str(raw["role"]).upper()
        if role not in {"PRIMARY", "SECONDARY", "WEIGHTED"}:
            raise ValueError(f"role must be PRIMARY, SECONDARY or WEIGHTED, not {role!r}")
        weight = raw.get("weight")
        if role == "WEIGHTED" and (weight is None or int(weight) < 0):
            raise ValueError("a WEIGHTED record needs a weight >= 0")
        return cls(
            name=str(raw["name"]),
            role=role,
            region=str(raw["region"]),
            weight=None if weight is None else int(weight),
            health_check=bool(raw.get("health_check", True)),
        )


class EdgeState:
    """Records, backends and health of the regions (one event loop: no locks needed)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.records = [Record.parse(r) for r in config["records"]]
        self.backends: dict[str, list[str]] = {k: list(v) for k, v in config["backends"].items()}
        self.interval = float(config.get("interval", 0.2))
        self.threshold = int(config.get("threshold", 2))
        self.ttl = float(config.get("ttl", 0.5))
        self.healthy = dict.fromkeys(self.backends, True)
        self._streak = dict.fromkeys(self.backends, 0)
        self._cached: tuple[float, str | None] | None = None
        self._round_robin: dict[str, itertools.cycle[str]] = {}

    def is_healthy(self, region: str, checked: bool) -> bool:
        return not checked or self.healthy.get(region, False)

    def resolve_failover(self) -> str | None:
        """The failover answer, cached for the TTL."""
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.ttl:
            return self._cached[1]
        answer: str | None = None
        for role in ("PRIMARY", "SECONDARY"):
            for record in self.records:
                if record.role == role and self.is_healthy(record.region, record.health_check):
                    answer = record.region
                    break
            if answer:
                break
        # An answer is cached; having none is not: Route 53 never answers "nothing" (with
        # every record unhealthy it fails open), so the lab's 503 must end as soon as a
        # region is healthy again, not a TTL later.
        self._cached = (now, answer) if answer else None
        return answer

    def resolve(self) -> str | None:
        """The region one request goes to: weighted records first, else failover."""
        weighted = [
            r
            for r in self.records
            if r.role == "WEIGHTED" and r.weight and self.is_healthy(r.region, r.health_check)
        ]
        if weighted:
            return random.choices(weighted, weights=[r.weight or 0 for r in weighted])[0].region
        return self.resolve_failover()

    def backend(self, region: str) -> str | None:
        urls = self.backends.get(region) or []
        if not urls:
            return None
        cycle = self._round_robin.get(region)
        if cycle is None:
            cycle = self._round_robin[region] = itertools.cycle(urls)
        return next(cycle)

    def set_backends(self, region: str, urls: list[str]) -> None:
        self.backends[region] = list(urls)
        self._round_robin.pop(region, None)
        self.healthy.setdefault(region, True)
        self._streak.setdefault(region, 0)

    def apply(self, changes: list[dict[str, Any]]) -> None:
        """UPSERT / DELETE records by (name, role) — all or nothing."""
        records = list(self.records)
        for change in changes:
            record = Record.parse(change["record"])
            action = str(change["action"]).upper()
            records = [r for r in records if r.key != record.key]
            if action == "UPSERT":
                records.append(record)
            elif action != "DELETE":
                raise ValueError(f"action must be UPSERT or DELETE, not {action!r}")
        self.records = records
        self._cached = None

    def observe(self, region: str, ok: bool) -> None:
        """One health-check result: flip after ``threshold`` consecutive opposite results."""
        if ok == self.healthy[region]:
            self._streak[region] = 0
            return
        self._streak[region] += 1
        if self._streak[region] >= self.threshold:
            self.healthy[region] = ok
            self._streak[region] = 0


async def _check(session: aiohttp.ClientSession, state: EdgeState, region: str) -> None:
    urls = state.backends.get(region) or []
    timeout = aiohttp.ClientTimeout(total=state.interval * 0.9)

    async def one(url: str) -> bool:
        try:
            async with session.get(f"{url}/health?require=writable", timeout=timeout) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    results = await asyncio.gather(*(one(u) for u in urls)) if urls else [False]
    state.observe(region, any(results))


async def _health_loop(app: web.Application) -> None:
    state: EdgeState = app["state"]
    session: aiohttp.ClientSession = app["session"]
    next_at = time.monotonic()
    while True:
        await asyncio.gather(*(_check(session, state, r) for r in list(state.backends)))
        next_at += state.interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at, time.monotonic() - state.interval)


def build_app(config: dict[str, Any]) -> web.Application:
    """The edge application for ``config`` (records, backends, interval, threshold, ttl)."""
    state = EdgeState(config)
    app = web.Application()
    app["state"] = state

    async def startup(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200, force_close=False),
            auto_decompress=False,
        )
        app["health"] = asyncio.create_task(_health_loop(app))

    async def cleanup(app: web.Application) -> None:
        app["health"].cancel()
        await app["session"].close()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)

    async def records(request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                body = await request.json()
                state.apply(list(body["changes"]))
            except (ValueError, KeyError, TypeError) as exc:
                return web.json_response({"error": f"bad change batch: {exc}"}, status=400)
        return web.json_response([asdict(r) for r in state.records])

    async def backends(request: web.Request) -> web.Response:
        body = await request.json()
        state.set_backends(str(body["region"]), [str(u) for u in body["urls"]])
        return web.json_response(state.backends)

    async def resolve(request: web.Request) -> web.Response:
        return web.json_response({"region": state.resolve(), "healthy": dict(state.healthy)})

    async def forward(request: web.Request) -> web.StreamResponse:
        region = state.resolve()
        url = state.backend(region) if region else None
        if url is None:
            return web.json_response({"error": "no healthy region"}, status=503)
        session: aiohttp.ClientSession = request.app["session"]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        body = await request.read()
        try:
            async with session.request(
                request.method,
                url + request.rel_url.path_qs,
                headers=headers,
                data=body or None,
                timeout=aiohttp.ClientTimeout(total=5.0, sock_connect=1.0),
            ) as upstream:
                payload = await upstream.read()
                out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
                return web.Response(status=upstream.status, body=payload, headers=out)
        except TimeoutError:
            return web.json_response({"error": f"region {region} timed out"}, status=504)
        except aiohttp.ClientError as exc:
            return web.json_response({"error": f"region {region}: {exc}"}, status=502)

    app.add_routes(
        [
            web.route("*", "/_edge/records", records),
            web.post("/_edge/backends", backends),
            web.get("/_edge/resolve", resolve),
            web.route("*", "/{tail:.*}", forward),
        ]
    )
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="drdrill lab edge (global endpoint)")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    web.run_app(
        build_app(config),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        reuse_address=True,
    )


if __name__ == "__main__":
    main()
