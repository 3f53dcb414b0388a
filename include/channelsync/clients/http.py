"""The one HTTP policy every client uses.

- a timeout on every request;
- 429, 5xx, connection errors and timeouts are *retriable*; other 4xx are *fatal*: two exception types;
- exponential backoff with full jitter that honours ``Retry-After``;
- a non-idempotent request (POST by default) is never retried blindly once it may have reached the
  server: the caller gets :class:`OutcomeUnknownError` and looks the record up by its natural key.
  A 429, or a connection that was refused before anything was sent, is safe to retry even for POST.
- each client maps vendor error bodies to stable error codes through an ``error_mapper``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from channelsync.clients.call_tally import count_call
from channelsync.clients.session_env import new_session
from channelsync.errors import (
    ApiError,
    FatalApiError,
    OutcomeUnknownError,
    RetriableApiError,
    define,
    redact,
)

log = logging.getLogger(__name__)

HTTP_RATE_LIMITED = define("HTTP_RATE_LIMITED", "http", "The API refused the call for rate limiting (429)")
HTTP_SERVER_ERROR = define("HTTP_SERVER_ERROR", "http", "The API answered with a server error (5xx)")
HTTP_CLIENT_ERROR = define("HTTP_CLIENT_ERROR", "http", "The API refused the request (4xx)")
HTTP_UNREACHABLE = define("HTTP_UNREACHABLE", "http", "The API could not be reached or did not answer in time")
HTTP_OUTCOME_UNKNOWN = define(
    "HTTP_OUTCOME_UNKNOWN", "http", "A write was sent but no answer came back; it may have been applied"
)
PAGINATION_LOOP = define("PAGINATION_LOOP", "http", "The API returned a page cursor already seen")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})

# Called with a response whose status is >= 400; returns the error to raise, or None to use the
# default classification. Lets a client turn "HTTP 500 {errors: [...]}" into a fatal, coded error.
ErrorMapper = Callable[[requests.Response], ApiError | None]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    # A Retry-After longer than this is not waited out inside a task: the error goes up instead.
    max_retry_after: float = 120.0
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        jittered = rng.uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class CallCounter:
    """Counts calls sent (attempts included), thread-safe, so a run can report API calls used."""

    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.calls += n


class HttpTransport:
    """A requests session wrapped with the shared policy, for one external system."""

    def __init__(
        self,
        *,
        system: str,
        session: requests.Session | None = None,
        policy: RetryPolicy | None = None,
        error_mapper: ErrorMapper | None = None,
        secrets: tuple[str, ...] = (),
        code_prefix: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.system = system
        # A session made here reads the environment (proxies, CA bundle, netrc) once, not per call.
        self.session = session or new_session()
        self.policy = policy or RetryPolicy()
        self.error_mapper = error_mapper
        self.secrets = secrets
        self.code_prefix = code_prefix
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.counter = CallCounter()

    def __repr__(self) -> str:  # never show headers or credentials
        return f"HttpTransport(system={self.system!r})"

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries; return a response with status < 400 or raise an :class:`ApiError`."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        kwargs.setdefault("timeout", (self.policy.connect_timeout, self.policy.read_timeout))
        attempt = 0
        while True:
            attempt += 1
            try:
                error = self._send_once(method, url, idempotent=idempotent, **kwargs)
            except RetriableApiError as exc:
                error = exc
            if isinstance(error, requests.Response):
                return error
            if not isinstance(error, RetriableApiError) or attempt >= self.policy.max_attempts:
                raise error
            if error.retry_after is not None and error.retry_after > self.policy.max_retry_after:
                raise error
            delay = self.policy.backoff(attempt, error.retry_after, self.rng)
            log.warning(
                "%s %s %s failed (%s), attempt %d of %d; retrying in %.2fs",
                self.system, method, self._safe(url), error.code, attempt, self.policy.max_attempts, delay,
            )
            self.sleep(delay)

    def _send_once(
        self, method: str, url: str, *, idempotent: bool, **kwargs: Any
    ) -> requests.Response | ApiError:
        self.counter.add()
        count_call(self)  # on the tally of the task sending it (clients may be shared by tasks)
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.exceptions.ConnectTimeout as exc:
            # Nothing reached the server: safe to retry whatever the method.
            return self._unreachable(method, url, exc)
        except requests.exceptions.ConnectionError as exc:
            if _never_sent(exc) or idempotent:
                return self._unreachable(method, url, exc)
            return self._outcome_unknown(method, url, exc)
        except (requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            # No answer in time, or one cut short (fewer bytes than its Content-Length, a broken chunk)
            # or with broken compression: the request did reach the server.
            if idempotent:
                return self._unreachable(method, url, exc)
            return self._outcome_unknown(method, url, exc)
        if response.status_code < 400:
            return response
        return self._classify(response, method, url, idempotent)

    def _classify(self, response: requests.Response, method: str, url: str, idempotent: bool) -> ApiError:
        mapped = self.error_mapper(response) if self.error_mapper else None
        if mapped is not None:
            mapped.method, mapped.url = method, self._safe(url)
            if isinstance(mapped, RetriableApiError) and not idempotent and response.status_code != 429:
                return self._outcome_unknown(method, url, mapped)
            return mapped
        body = self._safe(response.text[:500])
        status = response.status_code
        common: dict[str, Any] = {
            "system": self.system, "status": status, "vendor_message": body,
            "method": method, "url": self._safe(url),
        }
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return RetriableApiError(
                f"{self.system} rate limited {method} {self._safe(url)}",
                code=self._code("RATE_LIMITED", HTTP_RATE_LIMITED), retry_after=retry_after, **common,
            )
        if status >= 500:
            if not idempotent:
                return OutcomeUnknownError(
                    f"{self.system} answered {status} to {method} {self._safe(url)}: {body}",
                    code=HTTP_OUTCOME_UNKNOWN, **common,
                )
            return RetriableApiError(
                f"{self.system} answered {status} to {method} {self._safe(url)}: {body}",
                code=self._code("SERVER_ERROR", HTTP_SERVER_ERROR),
                retry_after=parse_retry_after(response.headers.get("Retry-After")), **common,
            )
        return FatalApiError(
            f"{self.system} refused {method} {self._safe(url)} with {status}: {body}",
            code=self._code("CLIENT_ERROR", HTTP_CLIENT_ERROR), **common,
        )

    def _unreachable(self, method: str, url: str, exc: Exception) -> RetriableApiError:
        return RetriableApiError(
            f"{self.system} {method} {self._safe(url)} did not complete: {type(exc).__name__}",
            code=self._code("UNREACHABLE", HTTP_UNREACHABLE), system=self.system, method=method,
            url=self._safe(url),
        )

    def _outcome_unknown(self, method: str, url: str, exc: Exception) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"{self.system} {method} {self._safe(url)} was sent but its outcome is unknown "
            f"({type(exc).__name__}); look the record up before sending it again",
            code=HTTP_OUTCOME_UNKNOWN, system=self.system, method=method, url=self._safe(url),
        )

    def _code(self, suffix: str, default: str) -> str:
        if self.code_prefix:
            candidate = f"{self.code_prefix}_{suffix}"
            if candidate in _known_codes():
                return candidate
        return default

    def _safe(self, text: str) -> str:
        return redact(text, self.secrets)


def _known_codes() -> set[str]:
    from channelsync.errors import CATALOG

    return set(CATALOG)


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before the request was written (refused, DNS, connect)."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "ConnectTimeout" in text


class PageLoopGuard:
    """Raises when a paginator sees a cursor twice or runs past a page ceiling."""

    def __init__(self, system: str, *, max_pages: int = 100_000) -> None:
        self.system = system
        self.max_pages = max_pages
        self._seen: set[str] = set()

    def check(self, cursor: str | None) -> None:
        if cursor is None:
            return
        if cursor in self._seen or len(self._seen) >= self.max_pages:
            raise FatalApiError(
                f"{self.system} pagination loop: cursor seen twice after {len(self._seen)} pages",
                code=PAGINATION_LOOP, system=self.system,
            )
        self._seen.add(cursor)


class RateLimiter:
    """Token bucket shared by the threads of one client: at most ``rate`` calls per second."""

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)


class ConcurrencyCap:
    """At most ``limit`` calls in flight per key (e.g. Autotask's 3 threads per entity)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._semaphores.setdefault(key.lower(), threading.BoundedSemaphore(self.limit))
        with semaphore:
            yield
