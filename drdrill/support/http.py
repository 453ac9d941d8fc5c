"""A small blocking HTTP/JSON client for the harness side (probes, canary, lab control).

Plain ``http.client`` with one connection per call and a hard timeout: a
frozen region must cost a probe its timeout, never more, and nothing here may
share a connection between threads.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Reply", "call"]


@dataclass(frozen=True)
class Reply:
    """What came back; ``status`` 0 when the request failed before a response."""

    status: int
    body: Any
    headers: dict[str, str]
    latency_s: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def call(method: str, url: str, payload: Any = None, timeout: float = 1.0) -> Reply:
    """One request; never raises for network errors (they become ``status`` 0)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    body = None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    started = time.monotonic()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        return Reply(
            response.status,
            decoded,
            {k.lower(): v for k, v in response.getheaders()},
            time.monotonic() - started,
        )
    except (OSError, http.client.HTTPException) as exc:
        return Reply(0, None, {}, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
