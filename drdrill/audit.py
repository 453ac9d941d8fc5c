"""The audit trail: every DR action, who did it, against what, and how it ended.

The plan's "Audit Trail" list: activation timestamp, actions taken and by whom,
RTO/RPO achieved, issues encountered, resolution steps. Each record is one JSON
line appended (and flushed) as it happens. Parameters pass through ``redact``
first: a secret never reaches the trail.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drdrill.timeline import iso, now_ns

__all__ = ["REDACTED", "AuditTrail", "actor", "redact"]

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"passw(or)?d|passphrase|^pass$|secret|token|credential|private[_-]?key|api[_-]?key"
    r"|authori[sz]ation|^auth$",
    re.IGNORECASE,
)
# user:password@ in a URL or DSN, and password=... in a libpq keyword DSN.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+(?P<at>@)", re.I)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)\S+", re.IGNORECASE)


def redact(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secrets replaced by ``***`` (by key name and in URLs/DSNs)."""
    if key and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        value = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}\g<at>", value)
        return _KV_PASSWORD.sub(rf"\g<head>{REDACTED}", value)
    return value


def actor() -> str:
    """Who is acting: the CI identity when in CI, else user@host."""
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_USER_ID"):
        if ci_user := os.environ.get(variable):
            return f"ci:{ci_user}"
    if os.environ.get("CI"):
        return f"ci@{socket.gethostname()}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


class AuditTrail:
    """Append-only JSONL audit records of one drill (thread-safe)."""

    def __init__(self, path: Path | None, *, who: str | None = None) -> None:
        self.path = path
        self.actor = who or actor()
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def record(
        self,
        action: str,
        *,
        target: str,
        outcome: str,
        parameters: Mapping[str, Any] | None = None,
        **detail: Any,
    ) -> dict[str, Any]:
        """Append one record; ``outcome`` is e.g. started/succeeded/failed/dry-run/refused."""
        t_ns = now_ns()
        entry: dict[str, Any] = {
            "time": iso(t_ns),
            "t_ns": t_ns,
            "actor": self.actor,
            "action": action,
            "target": target,
            "parameters": redact(dict(parameters or {})),
            "outcome": outcome,
        }
        entry.update(redact(detail))
        line = json.dumps(entry, default=str)
        with self._lock:
            self._records.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
        return entry

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)
