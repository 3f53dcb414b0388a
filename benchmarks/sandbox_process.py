"""The sandbox as its own process for benchmarks: the engine's figures should not include the
emulator's CPU time in the same interpreter (in production the PSA is another machine)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sandbox_process(scale: str = "small", seed: int = 42) -> Iterator[str]:
    """Start ``channelsync sandbox serve`` on a free loopback port; yield its base URL; stop it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "channelsync.cli.main", "sandbox", "serve", "--port", str(port), "--scale", scale,
         "--seed", str(seed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{base}/_sandbox/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
