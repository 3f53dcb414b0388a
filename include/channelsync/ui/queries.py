"""Reads of the run records (``sync_runs``, ``sync_items``) for the operations pages.

Every function takes an open session and returns plain data; the caller has already checked that
the user may read the DAGs concerned (the plugin asks Airflow's auth manager) and passes the
(integration, template) pairs it may show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, func, or_, select, text
from sqlalchemy.orm import Session

from channelsync.state.models import SyncItem, SyncRun
from channelsync.templates.health.status import EndpointState
from channelsync.ui.cards import SUCCESSFUL, RunBrief, as_utc
from channelsync.ui.trends import TREND_DAYS, Trend, trends  # noqa: F401  (the dashboard's)

Key = tuple[str, str]  # (integration, template)


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


# The distinct (integration, template) pairs of a year of runs, on PostgreSQL: a loose index scan over
# ix_sync_runs_key_id (one index probe per pair) where GROUP BY / DISTINCT would read every run.
_PG_KEYS = """
WITH RECURSIVE keys AS (
  (SELECT integration, template FROM sync_runs ORDER BY integration, template LIMIT 1)
  UNION ALL
  SELECT next.integration, next.template FROM keys, LATERAL (
    SELECT integration, template FROM sync_runs
    WHERE (sync_runs.integration, sync_runs.template) > (keys.integration, keys.template)
    ORDER BY integration, template LIMIT 1) AS next
)
SELECT integration, template FROM keys
"""


def _keys(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return text(_PG_KEYS).columns(integration=String(), template=String()).subquery("keys")
    return select(SyncRun.integration, SyncRun.template).distinct().subquery("keys")  # SQLite: a small store


def card_runs(session: Session) -> dict[Key, CardRuns]:
    """For every (integration, template) with records: its newest run, newest real run, newest
    finished real run and newest successful one — each one backward probe of ix_sync_runs_key_id,
    however long the history."""
    keys = _keys(session)
    real = SyncRun.preview.is_(False)

    def newest(*conditions: Any) -> Any:
        return (select(SyncRun.id).where(SyncRun.integration == keys.c.integration,
                                         SyncRun.template == keys.c.template, *conditions)
                .order_by(SyncRun.id.desc()).limit(1).scalar_subquery())

    attributes = ("last_run", "last_real", "last_finished", "last_success")
    rows = session.execute(select(keys.c.integration, keys.c.template, newest(), newest(real),
                                  newest(real, SyncRun.status != "running"),
                                  newest(real, SyncRun.status.in_(SUCCESSFUL)))).all()
    wanted = {run_id for row in rows for run_id in row[2:] if run_id is not None}
    runs = {run.id: brief(run) for run in _runs_by_id(session, wanted)}
    result: dict[Key, CardRuns] = {}
    for integration, template, *ids in rows:
        result[(integration, template)] = CardRuns(**{name: runs.get(run_id) if run_id is not None else None
                                                      for name, run_id in zip(attributes, ids, strict=True)})
    return result


HEALTH, ENDPOINT = "health", "endpoint"  # channelsync.templates.health.status.TEMPLATE / ENTITY
ENDPOINT_LOOKBACK = 12  # runs searched when the newest health run recorded no endpoint (it failed early)


def endpoint_states(session: Session, health_runs: dict[str, int]) -> dict[str, list[EndpointState]]:
    """Each integration's systems as its newest finished health run recorded them (``health_runs``:
    integration → that run's id, from :func:`card_runs`), in the order checked. An integration whose
    newest run recorded no endpoint (it failed before its reconcile stage) gets each system's state from
    its recent runs, as ``templates/health/status.latest`` reads them."""
    found: dict[str, list[EndpointState]] = {}
    if health_runs:
        by_run = {run_id: integration for integration, run_id in health_runs.items()}
        for item, started in session.execute(_endpoint_items(list(by_run))):
            found.setdefault(by_run[item.run_id], []).append(_endpoint_state(item, started))
    for integration in sorted(set(health_runs) - set(found)):
        recent = (select(SyncRun.id).where(SyncRun.integration == integration, SyncRun.template == HEALTH,
                                           SyncRun.preview.is_(False))
                  .order_by(SyncRun.id.desc()).limit(ENDPOINT_LOOKBACK))
        newest: dict[str, EndpointState] = {}
        for item, started in session.execute(_endpoint_items(list(session.scalars(recent)))):
            newest.setdefault(item.source_key, _endpoint_state(item, started))
        if newest:
            found[integration] = list(newest.values())
    return found


def _endpoint_items(run_ids: list[int]) -> Select[SyncItem, datetime]:
    return (select(SyncItem, SyncRun.started_at).join(SyncRun, SyncRun.id == SyncItem.run_id)
            .where(SyncItem.run_id.in_(run_ids), SyncItem.entity_type == ENDPOINT, SyncItem.stage == "reconcile")
            .order_by(SyncItem.run_id.desc(), SyncItem.id))


def _endpoint_state(item: SyncItem, started: datetime | None) -> EndpointState:
    from channelsync.templates.health.status import parse_facts

    return EndpointState(key=item.source_key, outcome=item.outcome, run_id=item.run_id, checked_at=as_utc(started),
                         error_code=item.error_code, error_message=item.error_message, **parse_facts(item.warnings))


def _runs_by_id(session: Session, ids: set[int]) -> list[SyncRun]:
    found: list[SyncRun] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        found.extend(session.scalars(select(SyncRun).where(SyncRun.id.in_(ordered[start:start + 500]))))
    return found


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
