"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the alert tests.

``refuse_next(n)`` makes it answer the next ``n`` messages with a temporary failure (451), as a mail
server under load does, so delivery retries can be tested against the real protocol.
"""

from __future__ import annotations

import email
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


class Sink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused = 0
        self._refuse = 0
        self._lock = threading.Lock()

    def refuse_next(self, count: int) -> None:
        with self._lock:
            self._refuse = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self._refuse > 0:
                self._refuse -= 1
                self.refused += 1
                return "451 4.3.0 try again later (test)"
            message = email.message_from_bytes(envelope.content, policy=default)
            assert isinstance(message, EmailMessage)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 accepted"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def smtp_env(port: int) -> dict[str, str]:
    """Airflow's SMTP settings pointing at the sink (plain SMTP on loopback: no STARTTLS)."""
    return {"AIRFLOW__SMTP__SMTP_HOST": "127.0.0.1", "AIRFLOW__SMTP__SMTP_PORT": str(port),
            "AIRFLOW__SMTP__SMTP_STARTTLS": "False", "AIRFLOW__SMTP__SMTP_SSL": "False",
            "AIRFLOW__SMTP__SMTP_MAIL_FROM": "channelsync@msp.example",
            "AIRFLOW__API__BASE_URL": "http://airflow.example:8080"}
