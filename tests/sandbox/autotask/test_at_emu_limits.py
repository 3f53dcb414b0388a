"""ThresholdInformation, the rolling-hour threshold (latency tiers, refusal) and the 3-thread limit
(docs/vendors/autotask.md §A.9)."""

from __future__ import annotations

import threading
from typing import Any


def test_threshold_information_counts_requests_including_itself(at: Any) -> None:
    at.ok("GET", "Products/1")
    info = at.ok("GET", "ThresholdInformation")
    assert info == {"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60,
                    "currentTimeframeRequestCount": 2}


def test_refusal_at_100_percent_until_the_hour_rolls(at: Any) -> None:
    at.limits(hourly_threshold=10, latency_50_s=0.0, latency_75_s=0.0)
    statuses = [at.call("GET", "Products/1").status_code for _ in range(12)]
    assert statuses == [200] * 10 + [429, 429]
    refused = at.call("GET", "Products/1")
    assert int(refused.headers["Retry-After"]) > 0 and "threshold" in at.error_of(refused)
    assert at.limits()["refusals"]["threshold"] == 3
    at.control.advance_clock(seconds=3601)
    assert at.call("GET", "Products/1").status_code == 200


def test_latency_tiers_apply_from_50_and_75_percent(at: Any) -> None:
    # Latencies are configurable so this stays fast; the emulator counts the requests it slowed per tier.
    at.limits(hourly_threshold=8, latency_50_s=0.01, latency_75_s=0.02)
    for _ in range(8):
        at.call("GET", "Products/1")
    # with a threshold of 8: requests 4 and 5 are at 50-74 %, requests 6 to 8 at 75 % or more
    assert at.limits()["delayed"] == {"50%": 2, "75%": 3}


def test_zone_information_is_not_counted(at: Any) -> None:
    at.call("GET", f"{at.root}/atservicesrest/v1.0/zoneInformation?user=x")
    assert at.limits()["current_timeframe_request_count"] == 0


def test_fourth_concurrent_request_on_an_entity_is_refused(at: Any) -> None:
    at.limits(processing_ms=150)
    statuses: list[int] = []
    bodies: list[str] = []

    def call() -> None:
        response = at.call("GET", "Products/1", headers=at.headers())
        statuses.append(response.status_code)
        if response.status_code != 200:
            bodies.append(at.error_of(response))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = at.limits()["refusals"]["thread_limit"]
    assert refused >= 1 and statuses.count(429) == refused
    assert all("thread threshold of 3 threads" in b for b in bodies)
    # another entity has its own three threads
    assert at.limits()["max_in_flight"] == {f"{at.headers()['ApiIntegrationCode']}|products": 3}
