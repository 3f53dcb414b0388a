"""What the health runs recorded, read back: each system's latest state (the dashboard's endpoint status,
``channelsync status``) and the states before a run (for its outage and recovery alerts).

A health run records one item per system (entity ``endpoint``, stage ``reconcile``): outcome up / degraded /
down, the error, and its numbers as ``latency_ms: 120`` / ``api_budget_left: 9500 of 10000 per 60 min``
lines among the item's warnings (shown as they are on the run's status page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TEMPLATE = "health"
ENTITY = "endpoint"
HISTORY_RUNS = 200  # how far back a state is looked for (about 16 hours at the default five minutes)
_LATENCY = re.compile(r"^latency_ms: (\d+(?:\.\d+)?)$")
_BUDGET = re.compile(r"^api_budget_left: (-?\d+) of (\d+)(?: per (\d+) min)?$")


@dataclass(frozen=True)
class EndpointState:
    key: str  # "autotask", "tdsynnex_ion", …
    outcome: str  # up | degraded | down
    run_id: int
    checked_at: datetime | None
    latency_ms: float | None = None
    budget_left: int | None = None
    budget_limit: int | None = None
    budget_window_min: int | None = None
    error_code: str | None = None
    error_message: str | None = None


def parse_facts(warnings: list[Any] | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for line in warnings or []:
        text = str(line)
        if match := _LATENCY.match(text):
            found["latency_ms"] = float(match.group(1))
        elif match := _BUDGET.match(text):
            found["budget_left"], found["budget_limit"] = int(match.group(1)), int(match.group(2))
            found["budget_window_min"] = int(match.group(3)) if match.group(3) else None
    return found


def _history(state_url: str, integration: str, *, before_run_id: int | None = None,
             key: str | None = None) -> list[EndpointState]:
    """Recorded states, newest run first."""
    from sqlalchemy import select

    from channelsync.state.db import session_scope
    from channelsync.state.models import SyncItem, SyncRun

    runs = (select(SyncRun.id).where(SyncRun.integration == integration, SyncRun.template == TEMPLATE,
                                     SyncRun.preview.is_(False))
            .order_by(SyncRun.id.desc()).limit(HISTORY_RUNS))
    if before_run_id is not None:
        runs = runs.where(SyncRun.id < before_run_id)
    query = (select(SyncItem, SyncRun.started_at).join(SyncRun, SyncRun.id == SyncItem.run_id)
             .where(SyncItem.run_id.in_(runs.scalar_subquery()), SyncItem.entity_type == ENTITY,
                    SyncItem.stage == "reconcile")
             .order_by(SyncRun.id.desc(), SyncItem.id))
    if key is not None:
        query = query.where(SyncItem.source_key == key)
    with session_scope(state_url) as session:
        rows = session.execute(query).all()
        return [EndpointState(key=item.source_key, outcome=item.outcome, run_id=item.run_id,
                              checked_at=started if started is None or started.tzinfo else started.replace(tzinfo=UTC),
                              error_code=item.error_code, error_message=item.error_message,
                              **parse_facts(item.warnings))
                for item, started in rows]


def latest(state_url: str, integration: str, *, before_run_id: int | None = None) -> dict[str, EndpointState]:
    """Each system's most recent recorded state (systems no longer configured included, as last seen)."""
    states: dict[str, EndpointState] = {}
    for state in _history(state_url, integration, before_run_id=before_run_id):
        states.setdefault(state.key, state)
    return states


def down_since(state_url: str, integration: str, key: str, *, before_run_id: int) -> datetime | None:
    """When the system's current outage began: the first check of the run of downs before ``before_run_id``."""
    since = None
    for state in _history(state_url, integration, before_run_id=before_run_id, key=key):
        if state.outcome != "down":
            break
        since = state.checked_at
    return since
