"""Redaction: what keeps a secret out of the audit trail, the reports and the plan.

``redact`` is the one function every writer of those passes data through. It
finds a secret wherever a DR drill meets one:

- under a secret-looking key of a mapping (``password``, ``MasterUserPassword``,
  ``aws_secret_access_key``, ``SessionToken``, ``x-api-key``...);
- in a Kubernetes (or ECS, or tag-style) env entry ``{"name": "DB_PASSWORD",
  "value": ...}``, as a mapping and in its JSON / Python-repr text form;
- in text: ``"password": "..."`` (JSON), ``PGPASSWORD=...`` and libpq's
  ``password='a b'`` (quoted values may hold spaces and escaped quotes),
  ``aws_secret_access_key = ...`` (ini), ``password: ...`` at the start of a line
  (YAML), ``Authorization: ...`` headers, ``Bearer <token>`` anywhere, and the
  password of ``scheme://user:password@host`` (up to the *last* ``@`` before the
  host, so ``u:p@ss@host`` loses ``p@ss``; an empty user name works too).

``redact_strictly`` also masks every URL's path (a webhook's path is its token):
for configuration errors, which may quote the file's own secrets.

It does not eat ordinary words: a key is secret when one of its words *ends* in
a secret noun (``pgpassword``, ``tokens``) and not when the noun merely starts a
longer word (``secretary``, ``passwordless``) or the key names the secret rather
than holding it (``SecretId``, ``password_file``, ``token_url``); ``Bearer`` in
prose is left alone unless a token-like word follows it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_strictly"]

REDACTED = "***"

_SECRET_NOUN = re.compile(
    r"(passw(or)?d|passphrase|secret|token|credential|authori[sz]ation|cookie)s?$"
)
_SECRET_PAIRS = {
    ("private", "key"),
    ("api", "key"),
    ("privatekey",),
    ("apikey",),
    ("routing", "key"),  # PagerDuty's Events API key
    ("routingkey",),
    ("integration", "key"),
}
_WHOLE_SECRET_KEYS = {"auth", "pass"}
_NAMES_NOT_SECRETS = {
    "arn",
    "arns",
    "id",
    "ids",
    "name",
    "names",
    "file",
    "path",
    "url",
    "uri",
    "policy",
    "type",
    "ttl",
    "expiry",
    "expiration",
    "expires",
    "length",
    "count",
    "version",
}
"""A key ending in one of these names a secret or describes it; it does not hold it."""

_IDENT = r"[A-Za-z_][A-Za-z0-9_.-]*"
_DQ = r'"(?:[^"\\]|\\.)*"'
_SQ = r"'(?:[^'\\]|\\.)*'"
_QUOTED = rf"(?:{_DQ}|{_SQ})"

# {"name": "DB_PASSWORD", "value": "..."} in JSON or Python-repr text, either order.
_NAME_PAIR = r"(?P<q1>[\"'])(?:name|key)(?P=q1)\s*:\s*(?P<q2>[\"'])(?P<name>[^\"'\\]{1,200})(?P=q2)"
_VALUE_KEY = r"(?P<q3>[\"'])value(?P=q3)\s*:\s*"
_ENV_NAME_FIRST = re.compile(
    rf"(?P<head>{_NAME_PAIR}[^{{}}]*?{_VALUE_KEY})(?P<value>{_QUOTED})", re.IGNORECASE
)
_ENV_VALUE_FIRST = re.compile(
    rf"(?P<head>{_VALUE_KEY})(?P<value>{_QUOTED})(?P<tail>[^{{}}]*?{_NAME_PAIR})", re.IGNORECASE
)
# "password": "..." / 'password': '...'
_QUOTED_KEY = re.compile(
    rf"(?P<head>(?P<q>[\"'])(?P<key>[^\"'\s]{{1,200}})(?P=q)\s*:\s*)(?P<value>{_QUOTED})"
)
# Authorization: <scheme> <credentials>  (to the end of the line or a closing quote)
_AUTH_HEADER = re.compile(
    r"(?P<head>\b(?:proxy-)?authori[sz]ation\s*[:=]\s*)(?P<value>[^\s\"'][^\r\n\"']*)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\bbearer\s+)(?P<value>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
# scheme://user:password@host  (password up to the last @ of the authority)
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/?#@\s\"']*:)(?P<value>[^/?#\s\"']*)(?=@[^@/?#\s\"']+)",
    re.IGNORECASE,
)
# KEY=value anywhere: quoted, or up to a blank, a quote, & or ;
_ASSIGNMENT = re.compile(
    rf"(?P<head>(?<![A-Za-z0-9_.-])(?P<key>{_IDENT})\s*=\s*)(?P<value>{_QUOTED}|[^\s\"'&;]+)"
)
# key: value at the start of a line (YAML, ini, headers): quoted, or the rest of the line
_LINE_KEY = re.compile(
    rf"(?P<head>^[ \t-]*(?P<key>{_IDENT})[ \t]*:[ \t]*)(?P<value>{_QUOTED}|[^\s\"'][^\r\n]*)",
    re.MULTILINE,
)


def is_secret_key(key: str) -> bool:
    """Whether a value stored under ``key`` (a field, variable or header name) is a secret."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", snake) if w]
    if not words:
        return False
    if "".join(words) in _WHOLE_SECRET_KEYS:
        return True
    if words[-1] in _NAMES_NOT_SECRETS:
        return False
    if any(_SECRET_NOUN.search(word) for word in words):
        return True
    pairs = {(w,) for w in words} | set(itertools.pairwise(words))
    return bool(pairs & _SECRET_PAIRS)


def _masked(quoted: str) -> str:
    """``***`` in the quotes ``quoted`` had (none if it had none)."""
    if quoted[:1] in "\"'" and len(quoted) > 1:
        return f"{quoted[0]}{REDACTED}{quoted[0]}"
    return REDACTED


def _env_entry(match: re.Match[str]) -> str:
    if not is_secret_key(match["name"]):
        return match[0]
    return match["head"] + _masked(match["value"]) + (match.groupdict().get("tail") or "")


def _keyed(match: re.Match[str]) -> str:
    if not is_secret_key(match["key"]):
        return match[0]
    return match["head"] + _masked(match["value"])


def _bearer(match: re.Match[str]) -> str:
    token = match["value"]
    # a token has a digit or symbol, or is longer than a word: "the bearer of" stays
    if len(token) >= 20 or re.search(r"[^A-Za-z]", token):
        return match["head"] + REDACTED
    return match[0]


def _redact_text(text: str) -> str:
    # Keyed values first, whole (a quoted password may hold "Bearer x" or "a://b:c@d"),
    # then what only its shape gives away.
    text = _ENV_NAME_FIRST.sub(_env_entry, text)
    text = _ENV_VALUE_FIRST.sub(_env_entry, text)
    text = _QUOTED_KEY.sub(_keyed, text)
    text = _ASSIGNMENT.sub(_keyed, text)
    text = _LINE_KEY.sub(_keyed, text)
    text = _AUTH_HEADER.sub(rf"\g<head>{REDACTED}", text)
    text = _BEARER.sub(_bearer, text)
    return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}", text)


# scheme://host[:port] then a path, query or fragment (what a webhook keeps its token in)
_URL_PATH = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/?#\s\"']+)(?P<value>[/?#][^\s\"']*)", re.IGNORECASE
)


def redact_strictly(text: str) -> str:
    """``redact(text)``, and the path of every URL too: for text that may quote a
    configuration's own secrets, where a URL's path can be the token (a Slack or
    webhook channel's URL). The scheme and host stay, so the URL is still recognised."""
    redacted = _redact_text(text)
    return _URL_PATH.sub(
        lambda m: f"{m['head']}/{REDACTED}" if m["value"] != "/" else m[0], redacted
    )


def _is_secret_entry(value: Mapping[Any, Any]) -> bool:
    """A ``{"name": "DB_PASSWORD", "value": ...}`` env entry (or ``Key``/``Value`` tag)."""
    keys = {str(k).lower(): k for k in value}
    name = value.get(keys.get("name", keys.get("key")))
    return "value" in keys and isinstance(name, str) and is_secret_key(name)


def redact(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with every secret replaced by ``***``: by key name, in env
    entries, and inside text (URLs, DSNs, env assignments, headers, JSON)."""
    if key and is_secret_key(key):
        return REDACTED
    if isinstance(value, Mapping):
        secret_entry = _is_secret_entry(value)
        return {
            str(k): REDACTED if secret_entry and str(k).lower() == "value" else redact(v, str(k))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _redact_text(value)
    return value
