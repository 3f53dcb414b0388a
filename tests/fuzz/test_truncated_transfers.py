"""Answers cut short on the wire (fewer bytes than their Content-Length, then the connection closed): a
typed error (retriable for a read, outcome unknown for a write), never requests' ChunkedEncodingError
escaping the clients; the streamed flat-file download too."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from channelsync.clients.http import HttpTransport, RetryPolicy
from channelsync.clients.tdsynnex.flatfile import TDS_FLATFILE_CORRUPT, TdSynnexFlatFileClient
from channelsync.errors import OutcomeUnknownError, RetriableApiError

POLICY = RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_cap=0.001, connect_timeout=2, read_timeout=2)


@pytest.fixture()
def cut_short() -> Iterator[str]:
    """A loopback server answering every request with 200, a Content-Length of 1,000 and 20 bytes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
                                   b"Connection: close\r\n\r\n" + b'{"content": [{"id": ')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    listener.close()


def test_a_read_cut_short_is_retried_then_a_retriable_error(cut_short: str) -> None:
    transport = HttpTransport(system="pax8", policy=POLICY, code_prefix="PAX8", sleep=lambda _s: None)
    with pytest.raises(RetriableApiError) as error:
        transport.request("GET", f"{cut_short}/companies")
    assert error.value.code.endswith("_UNREACHABLE") and "ChunkedEncodingError" in str(error.value)
    assert transport.counter.calls == 2


def test_a_write_cut_short_has_an_unknown_outcome(cut_short: str) -> None:
    transport = HttpTransport(system="pax8", policy=POLICY, code_prefix="PAX8", sleep=lambda _s: None)
    with pytest.raises(OutcomeUnknownError):
        transport.request("POST", f"{cut_short}/orders", json={"a": 1})
    assert transport.counter.calls == 1  # never sent twice blindly


def test_a_flat_file_download_cut_short_is_retriable(cut_short: str, tmp_path: Path) -> None:
    client = TdSynnexFlatFileClient(base_url=cut_short, customer_number="700001", username="u", password="p",
                                    policy=POLICY)
    with pytest.raises(RetriableApiError) as error:
        client.download(tmp_path)
    assert error.value.code == TDS_FLATFILE_CORRUPT
    assert list(tmp_path.iterdir()) == []  # no half file left
