"""The sandbox process: one real HTTP server on loopback, one path prefix per emulated system.

Stdlib ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive) on purpose: faults need the raw socket
(close it without an answer, or after applying a write), and one thread per connection is what
makes per-entity concurrency limits observable, as on the real services. Every emulator request
is counted in flight per (system, entity), injected latency included (``sandbox/concurrency.py``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from channelsync.sandbox.concurrency import ConcurrencyMeter, entity_of, set_injected_latency, take_injected_latency
from channelsync.sandbox.context import SandboxContext
from channelsync.sandbox.control import handle_control
from channelsync.sandbox.faults import FaultRule
from channelsync.sandbox.framework import CaseInsensitiveDict, Emulator, SandboxRequest, SandboxResponse
from channelsync.sandbox.registry import load_emulator_classes
from channelsync.sandbox.requestlog import RequestLog
from channelsync.sandbox.world import World

log = logging.getLogger(__name__)

CONTROL_PREFIX = "_sandbox"


class SandboxApp:
    """Routing, faults and logging around the emulators; independent of the socket layer."""

    def __init__(self, *, scale: str = "small", seed: int = 42, systems: list[str] | None = None) -> None:
        self.scale = scale
        self.seed = seed
        self.log = RequestLog()
        self.concurrency = ConcurrencyMeter()
        self.context = SandboxContext(world=World(scale, seed))
        self._classes = load_emulator_classes(systems)
        self.emulators: dict[str, Emulator] = {}
        self._build()

    def _build(self) -> None:
        self.emulators = {prefix: cls(self.context) for prefix, cls in self._classes.items()}

    def reset(self, *, scale: str, seed: int) -> None:
        base_url = self.context.base_url
        self.scale, self.seed = scale, seed
        self.context = SandboxContext(world=World(scale, seed), base_url=base_url)
        self.log.clear()
        self.concurrency.reset()
        self._build()

    def dispatch(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request (emulator or control API)."""
        segments = request.path.split("/", 2)  # ["", "prefix", "rest"]
        prefix = segments[1].lower() if len(segments) > 1 else ""
        remainder = "/" + segments[2] if len(segments) > 2 else "/"
        request.path = remainder
        if prefix == CONTROL_PREFIX:
            return handle_control(self, request)
        emulator = self.emulators.get(prefix)
        if emulator is None:
            return SandboxResponse(404, ("no emulated system at /" + prefix).encode(), {"Content-Type": "text/plain"})
        request.system = prefix
        started = time.perf_counter()
        entity = entity_of(prefix, remainder)
        self.concurrency.enter(prefix, entity)
        try:
            response = self._answer(emulator, request)
        finally:
            self.concurrency.leave(prefix, entity)
        self.log.add(
            system=prefix, method=request.method, path=remainder, query=request.query_string,
            status=0 if response.drop_connection else response.status,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        return response

    def _answer(self, emulator: Emulator, request: SandboxRequest) -> SandboxResponse:
        rules = self.context.faults.pick(request.system, request.method, request.path)
        delay = sum(rule.latency_ms for rule in rules if rule.kind == "latency") / 1000
        fault = next((rule for rule in rules if rule.kind != "latency"), None)
        if delay and getattr(emulator, "serves_injected_latency", False) \
                and (fault is None or fault.kind == "write_then_drop"):
            # Latency is time the API holds the request: an emulator with thread slots (Autotask)
            # serves it inside the slot; what it does not take is served after it answers.
            set_injected_latency(delay)
            try:
                return self._handle(emulator, request, fault)
            finally:
                remaining = take_injected_latency()
                if remaining:
                    time.sleep(remaining)
        if delay:
            time.sleep(delay)
        if fault is not None and fault.kind == "status":
            response = emulator.error_response(fault.status, fault.message or f"injected fault {fault.status}")
            if fault.retry_after is not None:
                response.headers["Retry-After"] = str(int(fault.retry_after))
            return response
        if fault is not None and fault.kind in ("timeout", "drop"):
            if fault.kind == "timeout":
                time.sleep(fault.timeout_s)
            return SandboxResponse(0, drop_connection=True)
        return self._handle(emulator, request, fault)

    @staticmethod
    def _handle(emulator: Emulator, request: SandboxRequest, fault: FaultRule | None) -> SandboxResponse:
        try:
            response = emulator.handle(request)
        except Exception:  # a bug in an emulator must still answer in the vendor's shape
            log.error("emulator %s failed on %s %s\n%s", emulator.system, request.method, request.path,
                      traceback.format_exc())
            response = emulator.error_response(500, "internal server error")
        if fault is not None and fault.kind == "write_then_drop":
            return SandboxResponse(0, drop_connection=True)
        return response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm holds the body
        # until the client's delayed ACK (~40 ms per keep-alive request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = SandboxRequest(
            method=self.command,
            path=split.path,
            query_string=split.query,
            headers=CaseInsensitiveDict(list(self.headers.items())),
            body=body,
            base_url=self.server.app.context.base_url,
        )
        response = self.server.app.dispatch(request)
        if response.drop_connection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: object) -> None:  # the request log replaces stderr lines
        log.debug(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class SandboxServer:
    """Start with ``start()`` (a background thread, for tests) or ``serve_forever()`` (the CLI)."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 8700, scale: str = "small", seed: int = 42,
        systems: list[str] | None = None,
    ) -> None:
        self.app = SandboxApp(scale=scale, seed=seed, systems=systems)
        self._server = _Server((host, port), self.app)
        self.host, self.port = str(self._server.server_address[0]), int(self._server.server_address[1])
        self.app.context.base_url = self.url
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host!s}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
