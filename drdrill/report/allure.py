"""Allure (allure-pytest-bdd) attachments, environment.properties and categories.json."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

__all__ = ["CATEGORIES", "attach_file", "attach_text", "write_allure_metadata"]

CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "RTO breach",
        "matchedStatuses": ["failed"],
        "messageRegex": ".*RTO.*(breach|exceed|never restored).*",
    },
    {
        "name": "RPO breach",
        "matchedStatuses": ["failed"],
        "messageRegex": ".*RPO.*(breach|exceed|lost).*",
    },
    {
        "name": "Activation failure",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": ".*(activation|phase).*",
    },
    {"name": "Harness error", "matchedStatuses": ["broken"]},
]


def attach_text(body: str, name: str, kind: str = "text") -> None:
    """Attach text to the current Allure step (no-op when Allure is not collecting)."""
    import allure

    types = {
        "text": allure.attachment_type.TEXT,
        "json": allure.attachment_type.JSON,
        "html": allure.attachment_type.HTML,
        "md": allure.attachment_type.TEXT,
        "csv": allure.attachment_type.CSV,
    }
    allure.attach(body, name=name, attachment_type=types[kind])


def attach_file(path: Path, name: str) -> None:
    import allure

    if not path.exists():
        return
    kinds = {
        ".png": allure.attachment_type.PNG,
        ".json": allure.attachment_type.JSON,
        ".jsonl": allure.attachment_type.TEXT,
        ".md": allure.attachment_type.TEXT,
        ".html": allure.attachment_type.HTML,
    }
    allure.attach.file(str(path), name=name, attachment_type=kinds.get(path.suffix))  # type: ignore[no-untyped-call]


def write_allure_metadata(results_dir: Path, environment: dict[str, str]) -> None:
    """environment.properties and categories.json (call at session end: --clean-alluredir
    deletes anything written earlier)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    env = {"python": platform.python_version(), "host": platform.node(), **environment}
    (results_dir / "environment.properties").write_text(
        "".join(f"{k}={v}\n" for k, v in sorted(env.items()))
    )
    (results_dir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2))
