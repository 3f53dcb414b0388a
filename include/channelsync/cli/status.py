"""``channelsync status``: the most recent sync runs, newest first, then each integration's endpoints as
its last health check recorded them (up / degraded / down, latency, the PSA's API budget)."""

from __future__ import annotations

from sqlalchemy import select

from channelsync.state.db import session_scope
from channelsync.state.models import SyncRun

STATUS_LABELS = {"no_change": "No Change", "success": "Success", "warning": "Warning", "failure": "Failure",
                 "running": "Running", "preview": "Preview"}


def print_status(integration: str | None, limit: int) -> int:
    from channelsync.cli import checks

    checks.state_store()
    with session_scope() as session:
        query = select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)
        if integration:
            query = query.where(SyncRun.integration == integration)
        runs = list(session.scalars(query))
    print(f"{'run':>5}  {'integration':<20} {'template':<20} {'status':<10} {'preview':<7} "
          f"{'started':<20} {'secs':>7}  counts")
    for run in runs:
        counts = ", ".join(f"{k}={v}" for k, v in sorted((run.counts or {}).items()))
        print(f"{run.id:>5}  {run.integration:<20} {run.template:<20} {STATUS_LABELS.get(run.status, run.status):<10} "
              f"{'yes' if run.preview else 'no':<7} {run.started_at:%Y-%m-%d %H:%M:%S}  "
              f"{run.duration_s or 0:>7.1f}  {counts}")
        if run.error_message:
            print(f"       error [{run.error_code}]: {run.error_message[:200]}")
    print_endpoints(integration)
    return 0


def print_endpoints(integration: str | None) -> None:
    from channelsync import settings
    from channelsync.templates.health import status

    url = settings.state_url()
    with session_scope(url) as session:
        query = select(SyncRun.integration).where(SyncRun.template == status.TEMPLATE).distinct()
        if integration:
            query = query.where(SyncRun.integration == integration)
        names = sorted(session.scalars(query))
    if not names:
        print("\nendpoints: no health run recorded (enable the health template to see them)")
        return
    print(f"\n{'endpoints':<20} {'system':<20} {'state':<9} {'checked':<20} {'latency':>8}  details")
    for name in names:
        for state in status.latest(url, name).values():
            checked = f"{state.checked_at:%Y-%m-%d %H:%M:%S}" if state.checked_at else "—"
            latency = f"{state.latency_ms:.0f} ms" if state.latency_ms is not None else "—"
            details = []
            if state.budget_limit:
                details.append(f"API budget {state.budget_left} of {state.budget_limit} left")
            if state.error_code or state.error_message:
                details.append(f"[{state.error_code}] {(state.error_message or '')[:160]}")
            print(f"{name:<20} {state.key:<20} {state.outcome.upper():<9} {checked:<20} {latency:>8}  "
                  + "; ".join(details))
