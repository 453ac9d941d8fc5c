"""The twin's CloudTrail: moto's request recorder log, read as the calls it was told.

moto (``MOTO_ENABLE_RECORDING``) appends one JSON line per request it receives —
headers, method, URL, body (base64 when ``body_encoded``) — before it handles it, so
a call is in the trail by the time its caller has the answer. A line records what
was asked, not whether moto accepted it: a refused call is in the trail too.

Every AWS request is signed: its service and region are those of its SigV4 credential
scope (``Credential=<key>/<date>/<region>/<service>/aws4_request``). Its operation is
the form body's ``Action`` (query protocol: RDS, STS) or the ``X-Amz-Target`` header's
(JSON protocol: CloudWatch); REST services (Route 53, EKS, FIS) name none. A request
**changes** something unless its operation is a read (``Describe``/``List``/``Get``...)
or, without an operation, its method is GET or HEAD.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

__all__ = ["Call", "Trail", "parse_calls"]

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_READS = ("Describe", "List", "Get", "Download")


@dataclass(frozen=True)
class Call:
    """One signed request of the trail."""

    service: str
    """The signing name: ``rds``, ``route53``, ``eks``, ``monitoring``..."""
    region: str
    """The AWS region the request was signed for."""
    action: str
    """The operation (``PromoteReadReplica``), "" for a REST request."""
    params: dict[str, str] = field(default_factory=dict)
    """The form parameters (first value of each), ``Action`` and ``Version`` left out."""
    method: str = "POST"

    @property
    def changes(self) -> bool:
        """Whether the request may change the control plane's state (module docstring)."""
        if self.action:
            return not self.action.startswith(_READS)
        return self.method.upper() not in ("GET", "HEAD")

    def param(self, name: str) -> str:
        """Parameter ``name`` ("" when absent)."""
        return self.params.get(name, "")

    def members(self, prefix: str) -> list[dict[str, str]]:
        """A list parameter (``Parameters.Parameter`` → ``Parameters.Parameter.1.Name``...)
        as one dict per member, in member order."""
        found: dict[int, dict[str, str]] = {}
        start = f"{prefix}."
        for key, value in self.params.items():
            if not key.startswith(start):
                continue
            index, _, name = key[len(start) :].partition(".")
            if index.isdigit() and name:
                found.setdefault(int(index), {})[name] = value
        return [found[i] for i in sorted(found)]


def parse_calls(chunk: bytes) -> list[Call]:
    """The signed requests among the trail lines in ``chunk`` (complete lines), in order;
    unreadable or unsigned lines are skipped."""
    calls = []
    for line in chunk.splitlines():
        try:
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
        except (ValueError, UnicodeDecodeError, AttributeError):
            continue
        scope = _SCOPE.search(headers.get("authorization", ""))
        if scope is None or not isinstance(body, str):
            continue
        region, service = scope.group(1), scope.group(2)
        form: dict[str, str] = {}
        if "Action=" in body and not body.lstrip().startswith(("{", "<")):
            form = {k: v[0] for k, v in parse_qs(body).items() if v}
        action = form.pop("Action", "") or headers.get("x-amz-target", "").rpartition(".")[2]
        form.pop("Version", None)
        method = str(entry.get("method") or "POST")
        calls.append(Call(service, region, action, form, method))
    return calls


class Trail:
    """The trail from where it ended when this reader was made, read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def read(self) -> list[Call] | None:
        """The requests appended since the last read (a line still being written waits for
        the next read); None when there is no trail (nothing can be told from it)."""
        if not self.path.exists():
            return None
        with self.path.open("rb") as file:
            file.seek(self.offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        return parse_calls(complete)
