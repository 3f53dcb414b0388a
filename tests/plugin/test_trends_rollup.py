"""The trends' closed days are summed once into ``sync_run_days`` and read back the same; today and a day
with a run still running are summed from the runs on every view."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from channelsync.state import repository
from channelsync.state.db import session_scope
from channelsync.state.models import SyncRun, SyncRunDay
from channelsync.ui import trends
from tests.plugin.seed import seed
from tests.plugin.test_ui_units import NOW

KEY = ("demo-autotask", "catalog_sync")


def test_closed_days_are_kept_and_read_back_the_same(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    seed(url, tmp_path / "staging", now=NOW)
    running = repository.start_run(url, integration=KEY[0], template=KEY[1], run_key="r/running", preview=False)
    with session_scope(url) as session:  # started four days ago, still running (a crashed worker, say)
        session.execute(update(SyncRun).where(SyncRun.id == running).values(started_at=NOW - timedelta(days=4)))
    with session_scope(url) as session:
        first = trends.trends(session, [KEY], now=NOW)[KEY]
        kept = {day for (day,) in session.execute(select(SyncRunDay.day).where(SyncRunDay.template == KEY[1]))}
    closed = set(first.days[:-trends.LIVE_DAYS])
    four_days_ago = (NOW - timedelta(days=4)).date()
    assert kept == closed - {four_days_ago}  # one row per closed day, runs or not; not the day still running
    assert first.runs["running"][first.days.index(four_days_ago)] == 1
    with session_scope(url) as session:
        again = trends.trends(session, [KEY], now=NOW)[KEY]
        assert session.scalar(select(func.count()).select_from(SyncRunDay)) == len(kept)
    assert again == first
    trends._kept.clear()  # a new process: read from the table, not summed again
    with session_scope(url) as session:
        assert trends.trends(session, [KEY], now=NOW)[KEY] == first
