"""Which systems an integration talks to, and one check of each: authenticate, one cheap read, timed.

A check never raises: a system that refuses or does not answer is *down* with the error's code (its
catalog entry says who acts first: a locked Autotask API user → the PSA admin, a distributor outage →
the distributor's support). One that answers but slowly, or whose API budget is nearly used, is
*degraded*. The checks use the clients' own ``ping()`` (the Autotask one reads ``ThresholdInformation``,
which is also its API budget; ConnectWise publishes none) with a short retry policy, so a dead system
is reported within seconds instead of after the templates' long backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from channelsync.clients.http import RetryPolicy
from channelsync.config import IntegrationConfig
from channelsync.errors import ChannelsyncError, QuotaExhausted, define
from channelsync.templates.health.options import HealthOptions

HEALTH_SYSTEM_DOWN = define("HEALTH_SYSTEM_DOWN", "channelsync",
                            "A configured system failed its health check (authenticate and one read)")
HEALTH_SYSTEM_RECOVERED = define("HEALTH_SYSTEM_RECOVERED", "channelsync",
                                 "A system that was down passes its health check again")
HEALTH_SLOW = define("HEALTH_SLOW", "channelsync", "A system answered its health check slower than the limit")
HEALTH_BUDGET_LOW = define("HEALTH_BUDGET_LOW", "channelsync", "Most of the PSA's hourly API budget is used")
UP, DEGRADED, DOWN = "up", "degraded", "down"
OUTCOMES = (UP, DEGRADED, DOWN)


@dataclass(frozen=True)
class Endpoint:
    key: str  # what the item is called: the system ("autotask", "tdsynnex_ion")
    system: str  # the client to build (channelsync.runs.context.client_from_connection)
    conn_id: str
    role: str  # "PSA" or the distributor's name


@dataclass
class Check:
    key: str
    conn_id: str
    role: str
    outcome: str
    latency_ms: float
    checked_at: str
    error_code: str | None = None
    error_message: str | None = None
    budget_used: int | None = None  # Autotask: requests in the current threshold window
    budget_limit: int | None = None
    budget_window_min: int | None = None

    def row(self) -> dict[str, Any]:
        return {"source_key": self.key, **{k: v for k, v in asdict(self).items() if k != "key"}}


def endpoints(integration: IntegrationConfig, options: HealthOptions) -> list[Endpoint]:
    """Every system the integration's connections reach, minus ``options.skip``."""
    found = [Endpoint(integration.psa.system, integration.psa.system, integration.psa.conn_id, "PSA")]
    for name, distributor in integration.distributors.items():
        if name == "tdsynnex":
            xml = distributor.xml_conn_id or distributor.conn_id
            if xml:
                found.append(Endpoint("tdsynnex_xml", "tdsynnex_xml", xml, name))
                if "catalog_sync" in integration.templates:  # the daily file is catalog_sync's source
                    found.append(Endpoint("tdsynnex_flatfile", "tdsynnex_flatfile", xml, name))
            if distributor.ion_conn_id:
                found.append(Endpoint("tdsynnex_ion", "tdsynnex_ion", distributor.ion_conn_id, name))
        elif distributor.conn_id:
            found.append(Endpoint(name, name, distributor.conn_id, name))
    return [endpoint for endpoint in found if endpoint.key not in options.skip]


def check(endpoint: Endpoint, make_client: Callable[[], Any], options: HealthOptions, *,
          clock: Callable[[], float] = time.monotonic) -> Check:
    """Build the client (reading its connection), authenticate and read once; classify what happened."""
    from channelsync.error_catalog import UNEXPECTED_ERROR

    started = clock()
    result = Check(endpoint.key, endpoint.conn_id, endpoint.role, UP, 0.0, datetime.now(UTC).isoformat())
    client: Any = None
    try:
        client = make_client()
        _tighten(client, options)
        budget = _ping(client)
        if budget is not None:
            result.budget_used, result.budget_limit, result.budget_window_min = budget
    except QuotaExhausted as exc:  # channelsync's own share of the budget is spent: the API itself is up
        result.outcome, result.error_code, result.error_message = DEGRADED, HEALTH_BUDGET_LOW, exc.message
        reading = getattr(getattr(client, "budget", None), "reading", None)  # the guard's last reading
        if reading is not None:
            result.budget_used, result.budget_limit = int(reading.used), int(reading.threshold)
    except ChannelsyncError as exc:
        result.outcome, result.error_code, result.error_message = DOWN, exc.code, exc.message
    except Exception as exc:  # a defect in a client: the system's state is unknown, report it as down
        result.outcome, result.error_code = DOWN, UNEXPECTED_ERROR
        result.error_message = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    result.latency_ms = round((clock() - started) * 1000, 1)
    if result.outcome == UP:
        _grade(result, options)
    return result


def _grade(result: Check, options: HealthOptions) -> None:
    if result.latency_ms > options.slow_ms:
        result.outcome, result.error_code = DEGRADED, HEALTH_SLOW
        result.error_message = f"answered in {result.latency_ms:.0f} ms (limit {options.slow_ms:.0f} ms)"
    elif result.budget_used is not None and result.budget_limit:
        share = 100.0 * result.budget_used / result.budget_limit
        if share >= options.budget_warn_percent:
            result.outcome, result.error_code = DEGRADED, HEALTH_BUDGET_LOW
            result.error_message = (f"{result.budget_used:,} of {result.budget_limit:,} API requests used this window "
                                    f"({share:.0f} %, warning at {options.budget_warn_percent:.0f} %)")


def _tighten(client: Any, options: HealthOptions) -> None:
    """Two attempts, short timeouts: a health check reports, it does not wait an outage out."""
    transport = getattr(client, "transport", None)
    if transport is not None and hasattr(transport, "policy"):
        transport.policy = RetryPolicy(max_attempts=2, backoff_base=0.2, backoff_cap=1.0, max_retry_after=2.0,
                                       connect_timeout=min(5.0, options.timeout_s), read_timeout=options.timeout_s)


def _ping(client: Any) -> tuple[int, int, int | None] | None:
    """The client's cheap authenticated read; Autotask's answers with the tenant's API budget."""
    threshold = getattr(client, "threshold_information", None)
    if not callable(threshold):
        client.ping()
        return None
    info = threshold()
    try:
        window = info.get("requestThresholdTimeframe")
        return (int(info["currentTimeframeRequestCount"]), int(info["externalRequestThreshold"]),
                int(window) if window is not None else None)
    except (KeyError, TypeError, ValueError):  # answered (so up), but without the budget
        return None


def facts(result: Check) -> list[str]:
    """The check's numbers as the item shows them (and :mod:`.status` reads back)."""
    shown = [f"latency_ms: {result.latency_ms:.0f}"]
    if result.budget_used is not None and result.budget_limit is not None:
        window = f" per {result.budget_window_min} min" if result.budget_window_min else ""
        left = result.budget_limit - result.budget_used
        shown.append(f"api_budget_left: {left} of {result.budget_limit}{window}")
    return shown
