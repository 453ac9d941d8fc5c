"""redact(): no generated secret survives any carrier a drill meets, and nothing else is lost.

Each property builds a carrier around a random secret (printable, with ``@``, blanks and
quotes wherever the carrier can hold them) and checks the output is exactly the carrier
with ``***`` in the secret's place: the secret is gone, the host and database remain.
"""

from __future__ import annotations

import json
import string

from hypothesis import given
from hypothesis import strategies as st

from drdrill.support.redaction import REDACTED, is_secret_key, redact, redact_strictly

PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
SHELL_SPECIAL = "'\"\\&;|<>()$`"


def text(alphabet: str, min_size: int = 1) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=40)


shell_words = text("".join(c for c in PRINTABLE if c != " " and c not in SHELL_SPECIAL))
"""An unquoted shell value: ``PGPASSWORD=<this>``."""
quoted = text(PRINTABLE)
"""Anything printable, with blanks, both quotes, backslashes and ``@``."""
url_passwords = text("".join(c for c in PRINTABLE if c not in " /?#'\"\\"))
"""A URL password: ``@`` and ``:`` included, not the characters that end an authority."""
any_text = st.text(max_size=40)
"""Any text at all (a mapping value or a JSON string can hold anything)."""
_TOKEN = string.ascii_letters + string.digits + "-._~+/"
bearer_tokens = st.one_of(
    st.builds(
        lambda a, mark, b: a + mark + b,
        text(_TOKEN, 0),
        st.sampled_from(string.digits + "-._~+/"),
        text(_TOKEN, 0),
    ),
    text(string.ascii_letters, 20),
)
"""RFC 6750 tokens: with a digit or symbol, or at least 20 letters long."""


def libpq_quoted(secret: str) -> str:
    return "'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"


@given(shell_words, st.sampled_from(["PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD"]))
def test_an_env_assignment_loses_its_value_only(secret: str, variable: str) -> None:
    line = f"{variable}={{}} psql -h db.example.com shop"
    assert redact(line.format(secret)) == line.format(REDACTED)


@given(quoted)
def test_a_quoted_env_value_with_blanks_and_quotes_is_redacted_whole(secret: str) -> None:
    line = "PGPASSWORD={} pg_dump -h db.example.com shop"
    assert redact(line.format(libpq_quoted(secret))) == line.format(f"'{REDACTED}'")


@given(
    shell_words,
    st.sampled_from(["aws_secret_access_key", "aws_session_token", "AWS_SECRET_ACCESS_KEY"]),
    st.sampled_from(["=", " = "]),
)
def test_aws_credentials_in_a_credentials_file_or_env(secret: str, key: str, sep: str) -> None:
    ini = "[prod]\naws_access_key_id = AKIAEXAMPLE\n{}{}{}\nregion = us-west-2\n"
    assert redact(ini.format(key, sep, secret)) == ini.format(key, sep, REDACTED)


@given(bearer_tokens)
def test_a_bearer_token_in_a_header_or_in_free_text(token: str) -> None:
    header = "curl -H 'Authorization: Bearer {}' https://api.example.com/orders"
    prose = "retrying POST /orders with Bearer {} against api.example.com"
    assert redact(header.format(token)) == header.format("").replace(" Bearer ", " ***")
    assert redact(prose.format(token)) == prose.format(REDACTED)


@given(any_text)
def test_a_kubernetes_env_entry_as_a_mapping_and_as_json_text(secret: str) -> None:
    def env(value: str) -> list[dict[str, str]]:
        return [
            {"name": "DB_HOST", "value": "db.example.com"},
            {"name": "DB_PASSWORD", "value": value},
            {"name": "DB_NAME", "value": "shop"},
        ]

    body = {"spec": {"template": {"spec": {"containers": [{"name": "app", "env": env(secret)}]}}}}
    expected = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "env": env(REDACTED)}]}}}
    }

    assert redact(body) == expected
    assert redact(json.dumps(body)) == json.dumps(expected)
    in_repr = redact(f"patch failed: {body}")  # (the value keeps the quotes repr chose)
    assert in_repr.replace(f'"{REDACTED}"', f"'{REDACTED}'") == f"patch failed: {expected}"
    assert redact(json.dumps({"value": secret, "name": "DB_PASSWORD"})) == json.dumps(
        {"value": REDACTED, "name": "DB_PASSWORD"}
    )


@given(url_passwords, st.sampled_from(["", "app", "app.user"]))
def test_a_url_password_with_at_signs_or_without_a_user(secret: str, user: str) -> None:
    url = "postgresql://{}:{}@db.example.com:5432/shop?sslmode=require"
    assert redact(url.format(user, secret)) == url.format(user, REDACTED)
    env = "DATABASE_URL=postgresql://{}:{}@db.example.com/shop"
    assert redact(env.format(user, secret)) == env.format(user, REDACTED)


@given(quoted)
def test_a_libpq_keyword_password_quoted_with_blanks_quotes_and_at(secret: str) -> None:
    dsn = "host=db.example.com port=5432 password={} dbname=shop"
    assert redact(dsn.format(libpq_quoted(secret))) == dsn.format(f"'{REDACTED}'")


@given(shell_words)
def test_a_libpq_keyword_password_unquoted(secret: str) -> None:
    dsn = "host=db.example.com password={} dbname=shop"
    assert redact(dsn.format(secret)) == dsn.format(REDACTED)


@given(any_text)
def test_a_json_document_loses_secret_fields_only(secret: str) -> None:
    doc = {"DBInstanceIdentifier": "shop-dr", "MasterUserPassword": secret, "Port": 5432}
    assert redact(json.dumps(doc)) == json.dumps({**doc, "MasterUserPassword": REDACTED})


@given(
    any_text,
    st.sampled_from(
        [
            "PGPASSWORD",
            "aws_secret_access_key",
            "AWS_SESSION_TOKEN",
            "SessionToken",
            "MasterUserPassword",
            "x-api-key",
            "Authorization",
            "client_secret",
            "privateKey",
        ]
    ),
)
def test_a_mapping_value_under_a_secret_key(secret: str, key: str) -> None:
    params = {"host": "db.example.com", key: secret, "nested": [{key: secret, "db": "shop"}]}
    assert redact(params) == {
        "host": "db.example.com",
        key: REDACTED,
        "nested": [{key: REDACTED, "db": "shop"}],
    }


def test_ordinary_words_and_names_of_secrets_are_left_alone() -> None:
    prose = [
        "the drill passed; author ops@host; 3 tokens used",
        "the bearer of bad news: Bearer authentication failed",
        "Reset your password to continue, secretary=bob passwordless=true",
        "see https://docs.example.com:443/rds and mail dba@example.com",
        "| **RTO** | 30 min | 2.50 s | ✅ Pass |",
    ]
    for line in prose:
        assert redact(line) == line
    plain = {
        "SecretId": "prod/db",
        "password_file": "/run/secrets/db",
        "token_url": "https://auth.example.com/token",
        "passed": True,
        "secretary": "bob",
        "aws_access_key_id": "AKIAEXAMPLE",
    }
    assert redact(plain) == plain
    assert not any(is_secret_key(k) for k in plain)


def test_a_pagerduty_routing_key_is_a_secret() -> None:
    assert is_secret_key("routing_key") and is_secret_key("RoutingKey")
    assert redact({"routing_key": "R0UTE"}) == {"routing_key": REDACTED}
    assert "R0UTE" not in redact("{'kind': 'pagerduty', 'routing_key': 'R0UTE'}")


def test_strict_redaction_masks_every_urls_path_and_keeps_its_host() -> None:
    text = "url 'https://hooks.slack.com/services/T000/B000/SECRET?x=1', home http://h:8/ ok"

    assert redact_strictly(text) == f"url 'https://hooks.slack.com/{REDACTED}', home http://h:8/ ok"
    assert redact_strictly("password=hunter2") == f"password={REDACTED}"
