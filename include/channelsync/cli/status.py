"""``channelsync status``: the most recent sync runs, newest first."""

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
    return 0
