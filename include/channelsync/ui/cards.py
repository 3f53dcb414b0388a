"""The dashboard's status colour of one (integration, template), from its run records and schedule.

- **Green**: the last run was fine (Success or No Change).
- **Yellow**: the last run had warnings (conflicts, quarantined rows, deferred writes), a run is
  overdue against the schedule, or an endpoint the template uses is degraded (slow, API budget low).
- **Red**: the last run failed, an endpoint the template uses is down (the health template's last check),
  or items failed and need someone to act.
- **Gray**: disabled in the integrations file, paused in Airflow, not configured (records of a
  template no longer in the file), or no run yet.

Only real runs count: a preview writes nothing, so it neither greens nor reddens a card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from channelsync.ui.labels import outcome_kind, summarize_counts

GREEN, YELLOW, RED, GRAY = "green", "yellow", "red", "gray"
COLOUR_LABELS = {GREEN: "Green", YELLOW: "Yellow", RED: "Red", GRAY: "Gray"}
SUCCESSFUL = ("success", "no_change", "warning")  # the run synced; a Warning run still wrote its items

CRON_PRESETS = {
    "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *", "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}
CLOCK_SLACK = timedelta(seconds=60)
# An endpoint state older than this (the health DAG paused or gone) is shown, but colours nothing: an
# outage a week old says nothing about now.
ENDPOINT_STALE_AFTER = timedelta(hours=2)
MIN_GRACE, MAX_GRACE = timedelta(minutes=10), timedelta(hours=2)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; the state store writes UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cron_expression(schedule: str | None) -> str | None:
    """The cron expression of a schedule, or None when it has no clock (asset-triggered, manual, once)."""
    if not schedule or schedule.startswith("asset:"):
        return None
    expression = CRON_PRESETS.get(schedule.strip(), schedule.strip())
    return None if expression.startswith("@") or expression.lower() == "none" else expression


def overdue_since(schedule: str | None, *, last_started: datetime | None, now: datetime) -> datetime | None:
    """When the run that should have started by now was due, if it has not started.

    A run is due at each fire time of the cron; it is overdue once a grace period has passed (half the
    interval, between 10 minutes and 2 hours: a queue on a busy scheduler is not an outage).
    """
    expression = cron_expression(schedule)
    if expression is None:
        return None
    expected = _due(expression, now)
    if expected is None:
        return None
    started = as_utc(last_started)
    if started is not None and started >= expected - CLOCK_SLACK:
        return None
    return expected


@lru_cache(maxsize=512)
def _due(expression: str, now: datetime) -> datetime | None:
    """The fire time a run should have started by ``now``, once its grace has passed (None: not yet).
    Cached: the dashboard's cards share a few schedules and one ``now``."""
    from croniter import croniter

    try:
        fires = croniter(expression, now)
        latest: datetime = fires.get_prev(datetime)
        before: datetime = fires.get_prev(datetime)
    except (ValueError, KeyError):
        return None
    grace = min(max((latest - before) / 2, MIN_GRACE), MAX_GRACE)
    expected = latest if now - latest >= grace else before
    return None if now - expected < grace else expected


@dataclass
class RunBrief:
    """What a card needs of one run."""

    id: int
    run_key: str  # <dag_id>/<Airflow run id>
    status: str
    preview: bool
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    counts: dict[str, int]
    api_calls: dict[str, Any]
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class Endpoint:
    """One system's state as the integration's last health check recorded it (``templates/health``)."""

    key: str  # "autotask", "tdsynnex_xml", "crayon", …
    outcome: str  # up | degraded | down
    run_id: int
    checked_at: datetime | None
    stale: bool = False  # older than ENDPOINT_STALE_AFTER
    latency_ms: float | None = None
    budget_left: int | None = None
    budget_limit: int | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class Card:
    integration: str
    template: str
    dag_id: str
    summary: str
    schedule: str | None
    configured: bool
    enabled: bool
    paused: bool | None  # None: Airflow has no such DAG
    last_run: RunBrief | None
    last_finished: RunBrief | None  # the last real (not preview) run that ended
    last_success: RunBrief | None
    running: bool
    overdue: datetime | None
    colour: str = GRAY
    reasons: list[str] = field(default_factory=list)
    trends: Any = None
    endpoints: list[Endpoint] = field(default_factory=list)  # the systems this template uses


def colour(card: Card) -> tuple[str, list[str]]:
    if not card.configured:
        return GRAY, ["not configured: the integrations file has no such template (records only)"]
    if not card.enabled:
        return GRAY, ["disabled in the integrations file"]
    if card.paused:
        return GRAY, ["paused in Airflow"]
    last = card.last_finished
    if last is None:
        return GRAY, ["no run yet" + (" (running now)" if card.running else "")]
    red: list[str] = []
    yellow: list[str] = []
    if last.status == "failure":
        code = f"[{last.error_code}] " if last.error_code else ""
        red.append(f"last run failed: {code}{(last.error_message or '').strip()[:200]}".rstrip(": "))
    failed = {name: n for name, n in last.counts.items() if n and outcome_kind(name) == "failure"}
    if failed:
        red.append("errors need action: " + ", ".join(summarize_counts(failed)))
    warned = {name: n for name, n in last.counts.items() if n and outcome_kind(name) == "warning"}
    if warned:
        yellow.append("warnings: " + ", ".join(summarize_counts(warned)))
    elif last.status == "warning" and not failed:
        yellow.append("last run ended with warnings")
    for endpoint in card.endpoints:
        if endpoint.stale:
            continue
        if endpoint.outcome == "down":
            code = f" [{endpoint.error_code}]" if endpoint.error_code else ""
            red.append(f"endpoint down: {endpoint.key}{code} at the health check of "
                       f"{endpoint.checked_at:%Y-%m-%d %H:%M} UTC" if endpoint.checked_at else
                       f"endpoint down: {endpoint.key}{code}")
        elif endpoint.outcome == "degraded":
            yellow.append(f"endpoint degraded: {endpoint.key} (slow, or little API budget left)")
    if card.overdue is not None:
        yellow.append(f"overdue: a run was due {card.overdue:%Y-%m-%d %H:%M} UTC (schedule {card.schedule})")
    if card.paused is None:
        yellow.append("Airflow has no DAG of this id (not parsed yet, or the file has an error)")
    if red:
        return RED, red + yellow
    if yellow:
        return YELLOW, yellow
    return GREEN, ["last run fine"]


def finalize(card: Card) -> Card:
    card.colour, card.reasons = colour(card)
    return card
