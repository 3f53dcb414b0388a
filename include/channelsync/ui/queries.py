"""Reads of the run records (``sync_runs``, ``sync_items``) for the operations pages.

Every function takes an open session and returns plain data; the caller has already checked that
the user may read the DAGs concerned (the plugin asks Airflow's auth manager) and passes the
(integration, template) pairs it may show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from channelsync.state.models import SyncItem, SyncRun
from channelsync.ui.cards import SUCCESSFUL, RunBrief, as_utc
from channelsync.ui.labels import outcome_kind

Key = tuple[str, str]  # (integration, template)
TREND_DAYS = 30


def brief(run: SyncRun) -> RunBrief:
    started = as_utc(run.started_at)
    assert started is not None
    return RunBrief(id=run.id, run_key=run.run_key, status=run.status, preview=bool(run.preview), started_at=started,
                    finished_at=as_utc(run.finished_at), duration_s=run.duration_s, counts=dict(run.counts or {}),
                    api_calls=dict(run.api_calls or {}), error_code=run.error_code, error_message=run.error_message)


@dataclass
class CardRuns:
    last_run: RunBrief | None = None
    last_real: RunBrief | None = None  # the newest real run, running or not (its start decides "overdue")
    last_finished: RunBrief | None = None
    last_success: RunBrief | None = None


def _latest_ids(session: Session, *conditions: Any) -> dict[Key, int]:
    query = select(SyncRun.integration, SyncRun.template, func.max(SyncRun.id)).group_by(
        SyncRun.integration, SyncRun.template)
    if conditions:
        query = query.where(*conditions)
    return {(integration, template): run_id for integration, template, run_id in session.execute(query)}


def card_runs(session: Session) -> dict[Key, CardRuns]:
    """For every (integration, template) with records: its newest run, newest real run, newest
    finished real run and newest successful one."""
    real = SyncRun.preview.is_(False)
    picks = {
        "last_run": _latest_ids(session),
        "last_real": _latest_ids(session, real),
        "last_finished": _latest_ids(session, real, SyncRun.status != "running"),
        "last_success": _latest_ids(session, real, SyncRun.status.in_(SUCCESSFUL)),
    }
    wanted = {run_id for chosen in picks.values() for run_id in chosen.values()}
    runs = {run.id: brief(run) for run in _runs_by_id(session, wanted)}
    result: dict[Key, CardRuns] = defaultdict(CardRuns)
    for attribute, chosen in picks.items():
        for key, run_id in chosen.items():
            setattr(result[key], attribute, runs.get(run_id))
    return dict(result)


def _runs_by_id(session: Session, ids: set[int]) -> list[SyncRun]:
    found: list[SyncRun] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        found.extend(session.scalars(select(SyncRun).where(SyncRun.id.in_(ordered[start:start + 500]))))
    return found


@dataclass
class Trend:
    """Per day over the window (oldest first): runs by status, items by outcome kind, errors by code,
    mean duration in seconds."""

    days: list[date]
    runs: dict[str, list[int]] = field(default_factory=dict)
    items: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, list[int]] = field(default_factory=dict)
    duration: list[float | None] = field(default_factory=list)


def _day(value: Any) -> date | None:
    """A date from what ``date()`` gives back: a date (PostgreSQL) or 'YYYY-MM-DD' (SQLite)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def trends(session: Session, keys: Iterable[Key], *, now: datetime, days: int = TREND_DAYS) -> dict[Key, Trend]:
    keys = list(keys)
    window = [(now - timedelta(days=offset)).date() for offset in range(days - 1, -1, -1)]
    index = {day: position for position, day in enumerate(window)}
    since = datetime.combine(window[0], datetime.min.time(), tzinfo=now.tzinfo)
    result = {key: Trend(days=window, duration=[None] * days) for key in keys}
    if not keys:
        return result
    durations: dict[Key, list[list[float]]] = {key: [[] for _ in window] for key in keys}

    def series(bucket: dict[str, list[int]], name: str) -> list[int]:
        return bucket.setdefault(name, [0] * days)

    in_window = and_(SyncRun.started_at >= since, SyncRun.preview.is_(False),
                     tuple_(SyncRun.integration, SyncRun.template).in_(keys))
    rows = session.execute(select(SyncRun.integration, SyncRun.template, SyncRun.started_at, SyncRun.status,
                                  SyncRun.duration_s, SyncRun.counts, SyncRun.error_code).where(in_window))
    for integration, template, started_at, status, duration_s, counts, error_code in rows:
        key, position = (integration, template), index.get(as_utc(started_at).date())  # type: ignore[union-attr]
        if position is None:
            continue
        trend = result[key]
        series(trend.runs, status)[position] += 1
        for name, count in (counts or {}).items():
            series(trend.items, outcome_kind(name))[position] += int(count or 0)
        # A failed stage with no item errors is one error of the run; item errors are counted below.
        if status == "failure" and error_code and not any(
                count and outcome_kind(name) in ("failure", "warning") for name, count in (counts or {}).items()):
            series(trend.errors, error_code)[position] += 1
        if duration_s is not None:
            durations[key][position].append(float(duration_s))
    item_errors = session.execute(
        select(SyncRun.integration, SyncRun.template, func.date(SyncRun.started_at), SyncItem.error_code,
               func.count())
        .join(SyncRun, SyncItem.run_id == SyncRun.id)
        .where(in_window, SyncItem.error_code.is_not(None))
        .group_by(SyncRun.integration, SyncRun.template, func.date(SyncRun.started_at), SyncItem.error_code)
    )
    for integration, template, day, code, count in item_errors:
        position = index.get(_day(day))  # type: ignore[arg-type]
        if position is not None:
            series(result[(integration, template)].errors, code)[position] += int(count)
    for key, per_day in durations.items():
        result[key].duration = [sum(values) / len(values) if values else None for values in per_day]
    return result


@dataclass
class HistoryFilter:
    status: str | None = None
    preview: bool | None = None  # None: both
    since: date | None = None
    until: date | None = None
    error_code: str | None = None


def _history_query(integration: str, template: str, filters: HistoryFilter) -> Select[Any]:
    query = select(SyncRun).where(SyncRun.integration == integration, SyncRun.template == template)
    if filters.status:
        query = query.where(SyncRun.status == filters.status)
    if filters.preview is not None:
        query = query.where(SyncRun.preview.is_(filters.preview))
    if filters.since:
        query = query.where(SyncRun.started_at >= datetime.combine(filters.since, datetime.min.time()))
    if filters.until:
        query = query.where(SyncRun.started_at < datetime.combine(filters.until + timedelta(days=1),
                                                                  datetime.min.time()))
    if filters.error_code:
        with_code = select(SyncItem.run_id).where(SyncItem.error_code == filters.error_code)
        query = query.where(or_(SyncRun.error_code == filters.error_code, SyncRun.id.in_(with_code)))
    return query


def history(session: Session, integration: str, template: str, filters: HistoryFilter, *, page: int,
            per_page: int) -> tuple[list[RunBrief], int]:
    query = _history_query(integration, template, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    runs = session.scalars(query.order_by(SyncRun.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return [brief(run) for run in runs], int(total)


def run(session: Session, run_id: int) -> SyncRun | None:
    return session.get(SyncRun, run_id)


def run_by_key(session: Session, run_key: str) -> SyncRun | None:
    return session.scalars(select(SyncRun).where(SyncRun.run_key == run_key).order_by(SyncRun.id.desc())).first()


def _items_query(run_id: int, outcome: str | None, search: str | None) -> Select[Any]:
    query = select(SyncItem).where(SyncItem.run_id == run_id)
    if outcome:
        query = query.where(SyncItem.outcome == outcome)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(or_(SyncItem.source_key.ilike(pattern), SyncItem.psa_id.ilike(pattern),
                                SyncItem.error_code.ilike(pattern), SyncItem.partition.ilike(pattern)))
    return query


def outcome_counts(session: Session, run_id: int) -> dict[str, int]:
    rows = session.execute(select(SyncItem.outcome, func.count()).where(SyncItem.run_id == run_id)
                           .group_by(SyncItem.outcome))
    return {outcome: int(count) for outcome, count in rows}


def items(session: Session, run_id: int, *, outcome: str | None, search: str | None, page: int, per_page: int
          ) -> tuple[list[SyncItem], int]:
    query = _items_query(run_id, outcome, search)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # Failures and warnings first: that is what the page is opened for.
    rows = session.scalars(query.order_by(SyncItem.error_code.is_(None), SyncItem.id)
                           .offset((page - 1) * per_page).limit(per_page))
    return list(rows), int(total)


def iter_items(session: Session, run_id: int, *, outcome: str | None, search: str | None,
               chunk: int = 1000) -> Iterator[SyncItem]:
    """Every matching item, a chunk at a time (the CSV export of a 20,000-item run)."""
    last_id = 0
    while True:
        rows = list(session.scalars(_items_query(run_id, outcome, search).where(SyncItem.id > last_id)
                                    .order_by(SyncItem.id).limit(chunk)))
        yield from rows
        if len(rows) < chunk:
            return
        last_id = rows[-1].id


@dataclass
class Occurrence:
    run: RunBrief
    integration: str
    template: str
    items: int  # items of the run with the code (0: the run itself failed with it)


def error_occurrences(session: Session, *, since: datetime) -> dict[str, list[Occurrence]]:
    """Recent runs where each code occurred (as the run's error or an item's), newest first."""
    recent = SyncRun.started_at >= since
    found: dict[str, dict[int, int]] = defaultdict(dict)
    for run_id, code in session.execute(select(SyncRun.id, SyncRun.error_code)
                                        .where(recent, SyncRun.error_code.is_not(None))):
        if code:
            found[code][run_id] = 0
    item_rows = session.execute(
        select(SyncItem.run_id, SyncItem.error_code, func.count()).join(SyncRun, SyncItem.run_id == SyncRun.id)
        .where(recent, SyncItem.error_code.is_not(None)).group_by(SyncItem.run_id, SyncItem.error_code))
    for run_id, code, count in item_rows:
        if code:
            found[code][run_id] = int(count)
    newest = {code: sorted(runs, reverse=True) for code, runs in found.items()}
    wanted = {run_id for run_ids in newest.values() for run_id in run_ids}
    runs = {run.id: run for run in _runs_by_id(session, wanted)}
    return {
        code: [Occurrence(brief(runs[run_id]), runs[run_id].integration, runs[run_id].template, found[code][run_id])
               for run_id in run_ids if run_id in runs]
        for code, run_ids in newest.items()
    }
