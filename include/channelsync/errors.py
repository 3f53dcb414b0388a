"""Typed errors with stable codes.

Every error the engine raises about an external system carries a stable ``code`` (e.g.
``AUTOTASK_AUTH_FAILED``). Codes are declared once with :func:`define` next to the code that raises
them, so ``CATALOG`` lists every code the engine can produce. What a code means for the people who run
channelsync — the explanation, the action, who acts first, whether a rerun fixes it and whether it is
e-mailed — is its :class:`Guidance`: given to :func:`define` itself, or (for most codes) written in
:mod:`channelsync.error_catalog`, keyed by code. The UI, the alerts and the CLI read both through the
same attributes of :class:`ErrorCode` (``explanation``, ``action``, ``first_responder`` …).

Messages never carry secrets: clients pass vendor messages through :func:`redact` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# Who acts first on an error (the seed manuals' "first responder"): the person whose system or job it is.
Responder = Literal["PSA admin", "distributor support", "MSP billing/finance", "channelsync operator",
                    "data engineer"]
RESPONDERS: tuple[str, ...] = get_args(Responder)
# Where an error is brought to people's attention when it is the only thing wrong in a run: ``email`` to
# the integration's alert lists, or ``dashboard`` only. A failed run always e-mails, whatever its code.
AlertChannel = Literal["email", "dashboard"]


@dataclass(frozen=True)
class Guidance:
    """What the operator's view says about an error code."""

    explanation: str  # what happened, in the words of the person reading the alert
    action: str  # what to do about it, first step first
    first_responder: Responder
    rerun_fixes: bool  # True: a rerun (or the next run) succeeds once the cause is gone or on its own
    alert: AlertChannel = "dashboard"

    def __post_init__(self) -> None:
        if not self.explanation.strip() or not self.action.strip():
            raise ValueError("guidance needs an explanation and an action")
        if self.first_responder not in RESPONDERS:
            raise ValueError(f"first responder {self.first_responder!r} is not one of {', '.join(RESPONDERS)}")
        if self.alert not in get_args(AlertChannel):
            raise ValueError(f"alert channel {self.alert!r} is not one of {', '.join(get_args(AlertChannel))}")


@dataclass(frozen=True)
class ErrorCode:
    code: str
    system: str
    summary: str
    guidance: Guidance | None = None  # given to define(); otherwise channelsync.error_catalog's entry

    def advice(self) -> Guidance | None:
        if self.guidance is not None:
            return self.guidance
        from channelsync.error_catalog import GUIDANCE

        return GUIDANCE.get(self.code)

    @property
    def title(self) -> str:
        return self.summary

    @property
    def explanation(self) -> str | None:
        advice = self.advice()
        return advice.explanation if advice else None

    @property
    def action(self) -> str | None:
        advice = self.advice()
        return advice.action if advice else None

    @property
    def first_responder(self) -> str | None:
        advice = self.advice()
        return advice.first_responder if advice else None

    @property
    def rerun_fixes(self) -> bool | None:
        advice = self.advice()
        return advice.rerun_fixes if advice else None

    @property
    def alert_channel(self) -> str | None:
        advice = self.advice()
        return advice.alert if advice else None


CATALOG: dict[str, ErrorCode] = {}


def define(code: str, system: str, summary: str, *, explanation: str | None = None, action: str | None = None,
           first_responder: Responder | None = None, rerun_fixes: bool | None = None,
           alert: AlertChannel = "dashboard") -> str:
    """Register an error code and return it (so modules can write ``X = define("X", ...)``).

    The guidance may be given here (``explanation``, ``action``, ``first_responder`` and ``rerun_fixes``
    together) or in :mod:`channelsync.error_catalog`; a test requires one of the two for every code."""
    existing = CATALOG.get(code)
    if existing is not None and existing.system != system:
        raise ValueError(f"error code {code} already defined for {existing.system}")
    given = (explanation, action, first_responder, rerun_fixes)
    guidance = None
    if any(value is not None for value in given):
        if explanation is None or action is None or first_responder is None or rerun_fixes is None:
            raise ValueError(f"error code {code}: give explanation, action, first_responder and rerun_fixes together")
        guidance = Guidance(explanation, action, first_responder, rerun_fixes, alert)
    elif existing is not None:
        guidance = existing.guidance  # a module imported twice (a test, a plugin) keeps what it had
    CATALOG[code] = ErrorCode(code, system, summary, guidance)
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
