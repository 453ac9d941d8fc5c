"""The twin's CloudTrail: the RDS calls moto served, read from its request recorder.

moto in server mode appends every request it serves to a JSON-lines file (its
recorder): the headers, the URL and the body (base64 when it was bytes). RDS speaks
the query protocol, so a call is a form body (``Action=PromoteReadReplica&...``) and
its region is in the SigV4 credential scope of the ``Authorization`` header
(``Credential=<key>/<date>/<region>/rds/aws4_request``). Some of what the aws target
asks RDS leaves no trace in moto's state (a promotion does not change
``describe_db_instances``) or must be done by the lab in the order it was asked (a
snapshot, then its copy, then a restore of the copy): the controller follows these
events, each once.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

__all__ = ["RdsCall", "TrailReader", "rds_calls"]

_SCOPE = re.compile(rb"Credential=[^/\s]+/\d{8}/([a-z0-9-]+)/rds/aws4_request")


@dataclass(frozen=True)
class RdsCall:
    """One RDS API call moto served."""

    action: str
    """The API action, e.g. ``CreateDBSnapshot``."""
    region: str
    """The AWS region it was sent to (its signature's scope)."""
    parameters: dict[str, str]
    """Its top-level form parameters (the first value of each)."""


def rds_calls(lines: bytes) -> list[RdsCall]:
    """The RDS calls among complete recorder ``lines``, in the order they were served;
    other services' requests and lines that do not parse are skipped."""
    found = []
    for line in lines.splitlines():
        scope = _SCOPE.search(line)
        if scope is None:
            continue
        try:
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
        except (ValueError, UnicodeDecodeError):
            continue
        form = {k: v[0] for k, v in parse_qs(body).items()}
        action = form.pop("Action", None)
        form.pop("Version", None)
        if action:
            found.append(RdsCall(action, scope.group(1).decode(), form))
    return found


class TrailReader:
    """Reads the recorder file from where it last stopped (complete lines only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        """Calls before the reader was made (the seeding) are not events."""

    def new_calls(self) -> list[RdsCall]:
        """RDS calls served since the last read."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as file:
            file.seek(self.offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        return rds_calls(complete)
