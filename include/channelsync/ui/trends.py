"""The dashboard's 30-day trends per (integration, template): runs by status, items by outcome kind, errors
by code and mean duration, per UTC day.

Reading a month of runs for 200 cards is 150,000 rows with their counts; the dashboard would take
seconds. So a day is summed once and kept in ``sync_run_days`` (one row per pair and day, an empty one
for a day without runs) once it is **closed**: before today, with none of its runs still running (a
pair's day with a running run is summed again on the next view). Only today is read from the runs on
each view. Rows are written
by whichever page view first needs them (``INSERT … ON CONFLICT DO NOTHING``: two workers may race).
A row never changes once written, so a process also keeps the rows it has read (``KEPT_DAYS`` of them)
and reads only the days it has not seen. A run recorded later for a closed day (a backfill) is not in
its row; deleting the day's rows (and restarting the API server) makes the next view sum it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from channelsync.canonical.dates import calendar_day
from channelsync.state.models import SyncItem, SyncRun, SyncRunDay
from channelsync.state.upsert import upsert
from channelsync.ui.cards import as_utc
from channelsync.ui.labels import outcome_kind

Key = tuple[str, str]  # (integration, template)
TREND_DAYS = 30
LIVE_DAYS = 1  # today: read from the runs on each view
KEYS_PER_QUERY = 200
KEPT_DAYS = 50_000  # closed (pair, day) rows a process keeps: 200 cards × 30 days is 6,000


@dataclass
class Trend:
    """Per day over the window (oldest first): runs by status, items by outcome kind, errors by code,
    mean duration in seconds."""

    days: list[date]
    runs: dict[str, list[int]] = field(default_factory=dict)
    items: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, list[int]] = field(default_factory=dict)
    duration: list[float | None] = field(default_factory=list)


@dataclass
class DayStats:
    """One pair's day, summed (``sync_run_days.stats``)."""

    runs: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    duration_sum: float = 0.0
    duration_n: int = 0

    def add(self, other: DayStats) -> None:
        """Sum ``other`` into this (a week of days, for the digest)."""
        for mine, theirs in ((self.runs, other.runs), (self.items, other.items), (self.errors, other.errors)):
            for name, count in theirs.items():
                mine[name] = mine.get(name, 0) + int(count)
        self.duration_sum += other.duration_sum
        self.duration_n += other.duration_n

    def as_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "items": self.items, "errors": self.errors, "duration_sum": self.duration_sum,
                "duration_n": self.duration_n}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DayStats:
        return cls(runs=dict(data.get("runs") or {}), items=dict(data.get("items") or {}),
                   errors=dict(data.get("errors") or {}), duration_sum=float(data.get("duration_sum") or 0),
                   duration_n=int(data.get("duration_n") or 0))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def summed(session: Session, keys: list[Key], first: date, last: date) -> dict[tuple[Key, date], DayStats]:
    """The days ``first``..``last`` (inclusive) of ``keys``, summed from the runs and their items."""
    found: dict[tuple[Key, date], DayStats] = {}
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start:start + KEYS_PER_QUERY]
        # The integrations in SQL, the pairs here: 200 (integration, template) pairs in SQL are an OR of 200
        # conditions on every row of the days.
        wanted = set(chunk)
        in_range = and_(SyncRun.started_at >= _midnight(first),
                        SyncRun.started_at < _midnight(last + timedelta(days=1)), SyncRun.preview.is_(False),
                        SyncRun.integration.in_(sorted({integration for integration, _ in chunk})))
        rows = session.execute(select(SyncRun.integration, SyncRun.template, SyncRun.started_at, SyncRun.status,
                                      SyncRun.duration_s, SyncRun.counts, SyncRun.error_code).where(in_range))
        for integration, template, started_at, status, duration_s, counts, error_code in rows:
            if (integration, template) not in wanted:
                continue
            day = as_utc(started_at).date()  # type: ignore[union-attr]
            stats = found.setdefault(((integration, template), day), DayStats())
            stats.runs[status] = stats.runs.get(status, 0) + 1
            for name, count in (counts or {}).items():
                kind = outcome_kind(name)
                stats.items[kind] = stats.items.get(kind, 0) + int(count or 0)
            # A failed stage with no item errors is one error of the run; item errors are counted below.
            if status == "failure" and error_code and not any(
                    count and outcome_kind(name) in ("failure", "warning") for name, count in (counts or {}).items()):
                stats.errors[error_code] = stats.errors.get(error_code, 0) + 1
            if duration_s is not None:
                stats.duration_sum += float(duration_s)
                stats.duration_n += 1
        item_errors = session.execute(
            select(SyncRun.integration, SyncRun.template, func.date(SyncRun.started_at), SyncItem.error_code,
                   func.count())
            .join(SyncRun, SyncItem.run_id == SyncRun.id)
            .where(in_range, SyncItem.error_code.is_not(None))
            .group_by(SyncRun.integration, SyncRun.template, func.date(SyncRun.started_at), SyncItem.error_code))
        for integration, template, day_value, code, count in item_errors:
            day = calendar_day(day_value)
            if day is not None and (integration, template) in wanted:
                stats = found.setdefault(((integration, template), day), DayStats())
                stats.errors[code] = stats.errors.get(code, 0) + int(count)
    return found


def closed_days(session: Session, keys: list[Key], days: list[date]) -> dict[tuple[Key, date], DayStats]:
    """The kept rows of ``days`` (all before today), summing the missing ones and keeping those whose
    runs have all finished."""
    kept: dict[tuple[Key, date], DayStats] = {}
    if not days or not keys:
        return kept
    store = str(session.get_bind().engine.url)  # the kept rows are per state store (tests open several)
    with _kept_lock:
        for wanted_key in ((key, day) for key in keys for day in days):
            if (found := _kept.get((store, *wanted_key))) is not None:
                kept[wanted_key] = found
    unseen = sorted({key for key in keys for day in days if (key, day) not in kept})
    for start in range(0, len(unseen), KEYS_PER_QUERY):
        chunk = unseen[start:start + KEYS_PER_QUERY]
        wanted = set(chunk)
        found_rows = session.execute(
            select(SyncRunDay.integration, SyncRunDay.template, SyncRunDay.day, SyncRunDay.stats)
            .where(SyncRunDay.day >= days[0], SyncRunDay.day <= days[-1],
                   SyncRunDay.integration.in_(sorted({integration for integration, _ in chunk}))))
        for integration, template, day, stats in found_rows:
            read: tuple[Key, date] = ((integration, template), calendar_day(day) or days[0])
            if read[0] in wanted and read not in kept:
                kept[read] = _keep((store, *read), DayStats.from_json(stats or {}))
    missing = [(key, day) for key in keys for day in days if (key, day) not in kept]
    if not missing:
        return kept
    first, last = min(day for _, day in missing), max(day for _, day in missing)
    fresh = summed(session, sorted({key for key, _ in missing}), first, last)
    now = datetime.now(UTC)
    finished = [(key, day) for key, day in missing if not fresh.get((key, day), DayStats()).runs.get("running")]
    rows = [{"integration": key[0], "template": key[1], "day": day,
             "stats": fresh.get((key, day), DayStats()).as_json(), "computed_at": now} for key, day in finished]
    for start in range(0, len(rows), 1000):
        upsert(session, SyncRunDay, rows[start:start + 1000], keys=("integration", "template", "day"))
    for key, day in finished:
        _keep((store, key, day), fresh.get((key, day), DayStats()))
    kept.update({(key, day): fresh.get((key, day), DayStats()) for key, day in missing})
    return kept


_kept: OrderedDict[tuple[str, Key, date], DayStats] = OrderedDict()  # (state store, pair, day)
_kept_lock = threading.Lock()


def _keep(key: tuple[str, Key, date], stats: DayStats) -> DayStats:
    with _kept_lock:
        _kept[key] = stats
        while len(_kept) > KEPT_DAYS:
            _kept.popitem(last=False)
    return stats


def trends(session: Session, keys: Iterable[Key], *, now: datetime, days: int = TREND_DAYS) -> dict[Key, Trend]:
    keys = list(keys)
    window = [(now - timedelta(days=offset)).date() for offset in range(days - 1, -1, -1)]
    result = {key: Trend(days=window, duration=[None] * days) for key in keys}
    if not keys:
        return result
    live = window[-LIVE_DAYS:]
    stats = closed_days(session, keys, window[:-LIVE_DAYS])
    stats.update(summed(session, keys, live[0], live[-1]))
    for key, trend in result.items():
        for position, day in enumerate(window):
            found = stats.get((key, day))
            if found is None:
                continue
            for bucket, values in ((trend.runs, found.runs), (trend.items, found.items), (trend.errors, found.errors)):
                for name, count in values.items():
                    bucket.setdefault(name, [0] * days)[position] += int(count)
            if found.duration_n:
                trend.duration[position] = found.duration_sum / found.duration_n
    return result
