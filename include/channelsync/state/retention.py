"""Retention of state-store rows that stop mattering once their run is over."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from channelsync.state.db import session_scope
from channelsync.state.models import OperationLedger, SyncRun

log = logging.getLogger(__name__)


def remove_run_scoped_ledger(*, older_than_days: float, url: str | None = None) -> dict[str, Any]:
    """Delete ``run:<id>`` ledger rows of runs finished more than ``older_than_days`` ago.

    They only ever guard a retry of their own run; tenant-scoped rows are never deleted."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    with session_scope(url) as session:
        old_runs = select(SyncRun.id).where(SyncRun.status != "running", SyncRun.finished_at < cutoff)
        result = session.execute(
            delete(OperationLedger).where(OperationLedger.scope != "tenant", OperationLedger.run_id.in_(old_runs))
        )
        removed = getattr(result, "rowcount", 0)  # a CursorResult for DML
    log.info("ledger retention (%s days): %d run-scoped row(s) removed", older_than_days, removed)
    return {"removed": int(removed or 0)}
