from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with smtp_receiver() as receiver:
        yield receiver
