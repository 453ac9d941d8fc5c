"""Local receivers that record what a notifier sent: HTTP, SMTP, and one that never answers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from drdrill.support.wait import poll


@dataclass
class HttpReceiver:
    """Records each POST (path, JSON body); answers with ``statuses`` in turn, then 200."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[str, Any]] = field(default_factory=list)

    def bodies(self, path: str) -> list[Any]:
        return [body for where, body in self.received if where == path]

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[tuple[str, Any]]:
        poll(lambda: len(self.received) >= count or None, timeout_s)
        return list(self.received)


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            with lock:
                receiver.received.append((self.path, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message


class _Recorder:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(
            Mail(envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


@dataclass
class SmtpReceiver:
    host: str
    port: int
    recorder: _Recorder

    @property
    def mails(self) -> list[Mail]:
        return list(self.recorder.mails)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Mail]:
        poll(lambda: len(self.recorder.mails) >= count or None, timeout_s)
        return self.mails


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    recorder = _Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpReceiver("127.0.0.1", port, recorder)
    finally:
        controller.stop()


@contextmanager
def silent_receiver() -> Iterator[str]:
    """A URL whose server takes the connection and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
