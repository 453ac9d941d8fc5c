"""order-service: one worker of the lab's e-commerce application (aiohttp).

Run as ``python -m drdrill.lab.order_service --region R --port P --dsn DSN``.
Its database can be changed at run time with ``POST /_admin/database``
(the lab's ``kubectl set env DATABASE_URL=...`` + rollout). Every database
call has a short timeout, so a dead or frozen database is a fast 503, never a hang.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from typing import Any

import psycopg
from aiohttp import web

__all__ = ["build_app", "main"]

DB_TIMEOUT_S = 1.0
POOL_SIZE = 4
BREAKER_S = 0.3
"""After the database failed to answer, fail fast for this long before trying again."""


class Database:
    """A tiny pool of async connections to the current DSN, reconnecting lazily."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(POOL_SIZE)
        self._generation = 0
        self._down_until = 0.0
        self._abandoned: set[asyncio.Task[None]] = set()

    async def repoint(self, dsn: str) -> None:
        self.dsn = dsn
        self._down_until = 0.0
        self._generation += 1
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await asyncio.wait_for(
            psycopg.AsyncConnection.connect(self.dsn, autocommit=True, connect_timeout=2),
            DB_TIMEOUT_S,
        )

    async def run(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement (autocommit) with a timeout; raises on any failure.

        A database that just failed to answer is not asked again for BREAKER_S: a
        frozen database must cost callers a fast 503, not a queue of hung requests.
        """
        loop = asyncio.get_running_loop()
        if loop.time() < self._down_until:
            raise ConnectionError("database unavailable (recent failure)")
        generation = self._generation
        await asyncio.wait_for(self._slots.acquire(), DB_TIMEOUT_S)
        try:
            return await self._run(sql, params)
        except (OSError, TimeoutError, psycopg.OperationalError):
            # a failure of the database before a repoint says nothing of the new one
            if generation == self._generation:
                self._down_until = loop.time() + BREAKER_S
            raise
        finally:
            self._slots.release()

    async def _run(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        generation = self._generation
        conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = await self._connect()
        query = asyncio.ensure_future(self._query(conn, sql, params))
        try:
            done, _ = await asyncio.wait({query}, timeout=DB_TIMEOUT_S)
        except BaseException:
            self._abandon(query, conn)
            raise
        if not done:
            # Never cancel a query: psycopg answers a cancellation with a cancel request
            # to the same (unreachable) server and waits for it up to 10 s. Leave the
            # query and its connection behind instead; the connection is closed once the
            # query ends, whenever the network lets it.
            self._abandon(query, conn)
            raise TimeoutError(f"database did not answer within {DB_TIMEOUT_S}s")
        try:
            rows = query.result()
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 0.2)
            raise
        if generation == self._generation:
            self._idle.append(conn)
        else:
            with contextlib.suppress(Exception):
                await conn.close()
        return rows

    @staticmethod
    async def _query(
        conn: psycopg.AsyncConnection[Any], sql: str, params: Any
    ) -> list[tuple[Any, ...]]:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchall() if cursor.description else []

    def _abandon(
        self, query: asyncio.Future[list[tuple[Any, ...]]], conn: psycopg.AsyncConnection[Any]
    ) -> None:
        async def close_when_done() -> None:
            with contextlib.suppress(BaseException):
                await query
            with contextlib.suppress(Exception):
                await conn.close()

        task = asyncio.ensure_future(close_when_done())
        self._abandoned.add(task)
        task.add_done_callback(self._abandoned.discard)


def _json(data: Any, status: int, region: str) -> web.Response:
    return web.json_response(data, status=status, headers={"X-Drdrill-Region": region})


def build_app(region: str, dsn: str) -> web.Application:
    """The order-service application of ``region`` using database ``dsn``."""
    db = Database(dsn)
    app = web.Application()

    async def db_state() -> dict[str, Any]:
        try:
            rows = await db.run("SELECT pg_is_in_recovery()")
        except Exception:
            return {"role": "down", "reachable": False, "writable": False}
        standby = bool(rows[0][0])
        return {
            "role": "standby" if standby else "primary",
            "reachable": True,
            "writable": not standby,
        }

    async def health(request: web.Request) -> web.Response:
        state = await db_state()
        ok = state["writable"] if request.query.get("require") == "writable" else True
        body = {"region": region, "status": "ok" if state["writable"] else "degraded", "db": state}
        return _json(body, 200 if ok else 503, region)

    def unavailable(exc: BaseException) -> web.Response:
        read_only = isinstance(exc, psycopg.errors.ReadOnlySqlTransaction)
        message = "database is read-only" if read_only else "database unavailable"
        return _json({"error": message, "region": region}, 503, region)

    async def products(request: web.Request) -> web.Response:
        try:
            rows = await db.run("SELECT id, name, price_cents, stock FROM products ORDER BY id")
        except Exception as exc:
            return unavailable(exc)
        keys = ("id", "name", "price_cents", "stock")
        return _json([dict(zip(keys, row, strict=True)) for row in rows], 200, region)

    async def product(request: web.Request) -> web.Response:
        try:
            product_id = int(request.match_info["id"])
            rows = await db.run(
                "SELECT id, name, price_cents, stock FROM products WHERE id = %s", (product_id,)
            )
        except ValueError:
            return _json({"error": "product id must be an integer"}, 400, region)
        except Exception as exc:
            return unavailable(exc)
        if not rows:
            return _json({"error": "no such product"}, 404, region)
        return _json(
            dict(zip(("id", "name", "price_cents", "stock"), rows[0], strict=True)), 200, region
        )

    async def create_order(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            order_id = str(body["id"])
            product_id = int(body.get("product_id", 1))
            quantity = int(body.get("quantity", 1))
            client = str(body.get("client", ""))
            seq = body.get("seq")
            seq = None if seq is None else int(seq)
            if not order_id or len(order_id) > 100 or quantity < 1:
                raise ValueError(order_id)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _json(
                {"error": "expected JSON {id: str, product_id: int, quantity: int >= 1}"},
                400,
                region,
            )
        try:
            rows = await db.run(
                "INSERT INTO orders (id, client, seq, product_id, quantity, total_cents) "
                "SELECT %s, %s, %s, p.id, %s, p.price_cents * %s FROM products p WHERE p.id = %s "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                (order_id, client, seq, quantity, quantity, product_id),
            )
            if not rows:
                exists = await db.run("SELECT 1 FROM orders WHERE id = %s", (order_id,))
                if not exists:
                    return _json({"error": "no such product"}, 400, region)
        except Exception as exc:
            return unavailable(exc)
        created = bool(rows)
        return _json(
            {"id": order_id, "region": region, "created": created}, 201 if created else 200, region
        )

    async def get_order(request: web.Request) -> web.Response:
        try:
            rows = await db.run(
                "SELECT id, client, seq, product_id, quantity, status, total_cents, "
                "created_at::text FROM orders WHERE id = %s",
                (request.match_info["id"],),
            )
        except Exception as exc:
            return unavailable(exc)
        if not rows:
            return _json({"error": "no such order"}, 404, region)
        keys = (
            "id",
            "client",
            "seq",
            "product_id",
            "quantity",
            "status",
            "total_cents",
            "created_at",
        )
        return _json(dict(zip(keys, rows[0], strict=True)), 200, region)

    async def repoint(request: web.Request) -> web.Response:
        body = await request.json()
        await db.repoint(str(body["dsn"]))
        return _json({"region": region, "database": "repointed"}, 200, region)

    app.add_routes(
        [
            web.get("/health", health),
            web.get("/products", products),
            web.get("/products/{id}", product),
            web.post("/orders", create_order),
            web.get("/orders/{id}", get_order),
            web.post("/_admin/database", repoint),
        ]
    )
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="drdrill lab order-service worker")
    parser.add_argument("--region", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    web.run_app(
        build_app(args.region, args.dsn),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        reuse_address=True,
    )


if __name__ == "__main__":
    main()
