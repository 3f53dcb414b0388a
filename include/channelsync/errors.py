"""Typed errors with stable codes.

Every error the engine raises about an external system carries a stable ``code`` (e.g.
``AUTOTASK_AUTH_FAILED``). Codes are declared once with :func:`define` next to the code that raises
them, so ``CATALOG`` lists every code the engine can produce; the operations UI adds meaning,
action and first responder to the same keys.

Messages never carry secrets: clients pass vendor messages through :func:`redact` first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    system: str
    summary: str


CATALOG: dict[str, ErrorCode] = {}


def define(code: str, system: str, summary: str) -> str:
    """Register an error code and return it (so modules can write ``X = define("X", ...)``)."""
    existing = CATALOG.get(code)
    if existing is not None and existing.system != system:
        raise ValueError(f"error code {code} already defined for {existing.system}")
    CATALOG[code] = ErrorCode(code, system, summary)
    return code


@dataclass(frozen=True)
class TransportCodes:
    """The four codes :class:`~channelsync.clients.http.HttpTransport` raises for a system
    (``<prefix>_RATE_LIMITED`` …), defined once per client with :func:`define_transport_codes`."""

    rate_limited: str
    server_error: str
    client_error: str
    unreachable: str


def define_transport_codes(prefix: str, system: str, vendor: str) -> TransportCodes:
    return TransportCodes(
        rate_limited=define(f"{prefix}_RATE_LIMITED", system, f"{vendor} refused the call for rate limiting (429)"),
        server_error=define(f"{prefix}_SERVER_ERROR", system, f"{vendor} answered with a server error (5xx)"),
        client_error=define(f"{prefix}_CLIENT_ERROR", system, f"{vendor} refused the request (4xx)"),
        unreachable=define(f"{prefix}_UNREACHABLE", system, f"{vendor} could not be reached or did not answer in time"),
    )


class ChannelsyncError(Exception):
    """Base of every error channelsync raises on purpose."""

    code: str = "CHANNELSYNC_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ConfigError(ChannelsyncError):
    code = define("CONFIG_INVALID", "channelsync", "The integration configuration file is invalid")


class ApiError(ChannelsyncError):
    """An external API answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        system: str,
        status: int | None = None,
        vendor_message: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.system = system
        self.status = status
        self.vendor_message = vendor_message
        self.method = method
        self.url = url


class RetriableApiError(ApiError):
    """Worth retrying: 429, 5xx, connection errors and timeouts of idempotent requests."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class FatalApiError(ApiError):
    """Not worth retrying: the request itself is wrong (4xx other than 429) or a vendor rule refused it."""


class OutcomeUnknownError(ApiError):
    """A non-idempotent write was sent but no answer came back (timeout, dropped connection, 5xx).

    The write may or may not have been applied. The caller resolves it by looking the record up by
    its natural key (or the ledger) before deciding to send it again: it is never retried blindly.
    """


class QuotaExhausted(FatalApiError):
    """The API budget channelsync may use is spent (e.g. its share of Autotask's hourly threshold).

    A loader stops sending when it sees this and defers the rest of its operations to the next run:
    nothing is half-done and nothing is lost.
    """


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """Replace every non-empty secret in ``text`` by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
