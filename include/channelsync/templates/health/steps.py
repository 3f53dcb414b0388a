"""health: every configured system up and accepting calls, through the shared run shape.

- **extract** checks each system the integration's connections reach (the PSA, each distributor
  connection: :func:`.probe.endpoints`): authenticate, one cheap read, latency, the PSA's API budget
  where the PSA publishes one (Autotask's ThresholdInformation; ConnectWise has none);
- **validate** checks the results are well formed;
- **reconcile** records one item per system — ``up``, ``degraded`` (slow, or the budget nearly used) or
  ``down`` with the error — and compares it with the system's previous state: a system that went down is
  an *outage*, one that came back a *recovery*;
- **load** writes nothing to any system: it records an alert row per outage and recovery (e-mailed by the
  report with the catalog's first responder, :mod:`channelsync.alerts`) and fails when a system is down,
  so the run's status is Failure and Airflow's grid shows it red.

An outage is alerted once when it starts (and reminded every ``alerts.repeat_hours`` while it lasts, by
the alerts' own deduplication), its recovery once when it ends — never once per five-minute check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from channelsync.errors import ChannelsyncError
from channelsync.runs import outcomes
from channelsync.runs.steps import LoadSummary, PlanSummary
from channelsync.runs.template import TemplateBase
from channelsync.templates.health import status
from channelsync.templates.health.options import HealthOptions
from channelsync.templates.health.probe import (
    DOWN,
    HEALTH_SYSTEM_DOWN,
    HEALTH_SYSTEM_RECOVERED,
    OUTCOMES,
    Check,
    Endpoint,
    check,
    endpoints,
    facts,
)

if TYPE_CHECKING:
    from channelsync.quality.suite import Suite
    from channelsync.runs.context import RunContext

log = logging.getLogger(__name__)

UP_OUTCOME = outcomes.declare("up", stage="reconcile", kind="neutral", description="passed its health check")
DEGRADED_OUTCOME = outcomes.declare("degraded", stage="reconcile", kind="warning",
                                    description="answered its health check, but slowly or with little API budget left")
DOWN_OUTCOME = outcomes.declare("down", stage="reconcile", kind="failure", description="failed its health check")
COLUMNS = ["source_key", "conn_id", "role", "outcome", "latency_ms", "checked_at", "error_code", "error_message",
           "budget_used", "budget_limit", "budget_window_min"]
ION = "tdsynnex_ion"
ION_REFRESH_LEASE_S = 60.0


class SystemsDown(ChannelsyncError):
    code = HEALTH_SYSTEM_DOWN


class HealthSteps(TemplateBase[HealthOptions]):
    entity_type = status.ENTITY
    tenant_scoped_ops = frozenset()

    # -- extract -----------------------------------------------------------------------------------
    def extract(self, run: RunContext) -> pd.DataFrame:
        options = self.options(run)
        results = [self._check(run, endpoint) for endpoint in endpoints(run.integration, options)]
        for result in results:
            log.info("%s (%s): %s in %.0f ms%s", result.key, result.conn_id, result.outcome.upper(), result.latency_ms,
                     f" [{result.error_code}] {result.error_message}" if result.error_code else "")
        return pd.DataFrame([r.row() for r in results], columns=COLUMNS)

    def _check(self, run: RunContext, endpoint: Endpoint) -> Check:
        options = self.options(run)
        if endpoint.system != ION:
            return check(endpoint, lambda: run.client(endpoint.system, endpoint.conn_id), options)
        from channelsync.clients.tdsynnex.codes import TDS_TOKEN_REUSED

        # Ion refresh tokens are single use: two checks refreshing at once would refuse one of them. Health
        # runs of several integrations on one Ion connection take turns; a refusal because another process
        # rotated the token meanwhile is checked once more with the token the store now holds.
        with _one_at_a_time(run, f"health:{ION}:{endpoint.conn_id}"):
            result = check(endpoint, lambda: run.client(endpoint.system, endpoint.conn_id), options)
            if result.error_code == TDS_TOKEN_REUSED:
                result = check(endpoint, lambda: run.client_factory(endpoint.system, endpoint.conn_id), options)
        return result

    # -- validate ----------------------------------------------------------------------------------
    def suite(self, run: RunContext) -> Suite:
        from channelsync.quality.suite import Severity, Suite, rule

        return Suite(name="health", key_column="source_key", expectations=(
            rule("system named", Severity.BLOCKING, "ExpectColumnValuesToNotBeNull", "no system name",
                 column="source_key"),
            rule("outcome known", Severity.BLOCKING, "ExpectColumnValuesToBeInSet", "unknown outcome",
                 column="outcome", value_set=list(OUTCOMES)),
        ))

    # -- reconcile ---------------------------------------------------------------------------------
    def plan(self, run: RunContext, valid: pd.DataFrame) -> PlanSummary:
        assert run.run_id is not None
        before = status.latest(run.state_url, run.integration.name, before_run_id=run.run_id)
        frame = valid.copy()
        frame["previous"] = [before[key].outcome if key in before else None for key in frame["source_key"]]
        frame["transition"] = [_transition(prev, now) for prev, now in zip(frame["previous"], frame["outcome"],
                                                                            strict=True)]
        frame["down_since"] = [
            _iso(status.down_since(run.state_url, run.integration.name, key, before_run_id=run.run_id))
            if change == "recovery" else None for key, change in zip(frame["source_key"], frame["transition"],
                                                                     strict=True)]
        items = pd.DataFrame([_item(row) for row in frame.itertuples(index=False)],
                             columns=["entity_type", "source_key", "psa_id", "outcome", "error_code", "error_message",
                                      "changed_fields", "warnings"], dtype=object)
        changed = frame[frame["previous"].notna() & (frame["previous"] != frame["outcome"])]
        diff = pd.DataFrame({"source_key": changed["source_key"], "op": changed["transition"].replace("", "change"),
                             "field": "status", "before": changed["previous"], "after": changed["outcome"]},
                            columns=["source_key", "op", "field", "before", "after"])
        counts = {str(k): int(v) for k, v in frame["outcome"].value_counts().items()}
        return PlanSummary(plan_path=self.stage_plan(run, frame), counts=counts, diff=diff, items=items)

    # -- load --------------------------------------------------------------------------------------
    def apply(self, run: RunContext, plan_path: str, partition: str | None = None) -> LoadSummary:
        plan = self.read_plan(plan_path)
        recorded = record_transitions(run, plan)
        down = plan[plan["outcome"] == DOWN]
        if len(down):
            up = len(plan) - len(down)
            raise SystemsDown("down: " + ", ".join(f"{row.source_key} ({row.error_code})" for row in down.itertuples())
                              + f"; {up} other system(s) passed")
        return LoadSummary(outcomes=[], details={"alerts": recorded})

    @staticmethod
    def failure_subject(code: str, message: str) -> str | None:
        """How a failed health run is named in its alert: the systems that are down."""
        if code != HEALTH_SYSTEM_DOWN or "down: " not in message:
            return None
        return message.partition("down: ")[2].partition(";")[0] + " down"


def _transition(previous: str | None, now: str) -> str:
    if now == DOWN and previous != DOWN:
        return "outage"
    if previous == DOWN and now != DOWN:
        return "recovery"
    return ""


def _item(row: Any) -> dict[str, Any]:
    result = Check(key=str(row.source_key), conn_id=str(row.conn_id), role=str(row.role), outcome=str(row.outcome),
                   latency_ms=float(row.latency_ms), checked_at=str(row.checked_at),
                   budget_used=_int(row.budget_used), budget_limit=_int(row.budget_limit),
                   budget_window_min=_int(row.budget_window_min))
    return {"entity_type": status.ENTITY, "source_key": result.key, "psa_id": None, "outcome": result.outcome,
            "error_code": _text(row.error_code), "error_message": _text(row.error_message), "changed_fields": [],
            "warnings": facts(result)}


def record_transitions(run: RunContext, plan: pd.DataFrame) -> int:
    """One alert row per outage and per recovery of this run (a retried load adds none twice)."""
    from channelsync.state.db import session_scope
    from channelsync.state.models import AlertLog

    prefix = f"[channelsync] {run.integration.name} {run.template}: "
    wanted = []
    for row in plan[plan["transition"] != ""].itertuples():
        if row.transition == "outage":  # under the system's own code: its catalog entry names who acts first
            code = _text(row.error_code) or HEALTH_SYSTEM_DOWN
            wanted.append((code, "critical", f"{prefix}{row.source_key} DOWN ({code})"))
        else:
            wanted.append((HEALTH_SYSTEM_RECOVERED, "info",
                           f"{prefix}{row.source_key} recovered" + _outage_length(_text(row.down_since))))
    with session_scope(run.state_url) as session:
        known = {(a.error_code, a.subject) for a in session.query(AlertLog).filter(AlertLog.run_id == run.run_id)}
        fresh = [(code, severity, subject[:300]) for code, severity, subject in wanted
                 if (code, subject[:300]) not in known]
        for code, severity, subject in fresh:
            session.add(AlertLog(integration=run.integration.name, template=run.template, run_id=run.run_id,
                                 error_code=code, severity=severity, recipients=[], subject=subject, status="logged"))
    return len(fresh)


def _outage_length(down_since: str | None) -> str:
    if not down_since:
        return ""
    since = datetime.fromisoformat(down_since)
    minutes = max(0, round((datetime.now(UTC) - since).total_seconds() / 60))
    length = f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
    return f" after {length} down (since {since:%Y-%m-%d %H:%M} UTC)"


@contextmanager
def _one_at_a_time(run: RunContext, key: str) -> Iterator[None]:
    from channelsync.state.leases import LeaseStore, LeaseUnavailable

    store = LeaseStore(run.state_url, ttl=ION_REFRESH_LEASE_S, system="health")
    try:
        lease = store.acquire(key, 1, timeout=ION_REFRESH_LEASE_S)
    except LeaseUnavailable:
        log.warning("%s: another check holds it for long; checking anyway", key)
        yield
        return
    try:
        yield
    finally:
        store.release(lease.key, lease.slot)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
