"""Benchmark: the operations pages on a year of records in a PostgreSQL state store.

Run: ``.venv/bin/python benchmarks/bench_pages.py [--postgres URL] [--database channelsync_bench]
[--revision head] [--reseed] [--tries 9]`` (``--postgres`` defaults to ``CHANNELSYNC_TEST_POSTGRES_URL``).

The state store (its own database, ``channelsync_bench`` by default, created once and reused) holds one
year of hourly runs of 50 integrations × 4 templates (health, catalog_sync, price_availability,
order_status): 8,760 × 200 = 1,752,000 ``sync_runs`` rows, with the statuses, counts, API calls and
durations the templates record (mostly No Change / Success, some Warning and Failure, two templates
failing for the last two months, a few running), the items of every health run (three endpoints each,
1.3 M rows) and of every run with failed or warned items, plus one catalog run of 20,000 items. It is
written with ``COPY``; the seed time is printed.

``--revision`` moves the schema to that migration first (down or up: ``0004`` measures without the
indexes of ``0005``), then ``VACUUM ANALYZE``. Timed, median and p95 of ``--tries`` tries after one
warm-up (the first, cold figure is printed too):

1. the dashboard's queries as the plugin makes them (``ui.dashboard.build_cards`` with the card runs,
   the 30-day trends and each integration's endpoint states) for the 200 configured cards;
2. the first page (100 items, failures first) and the outcome counts of the 20,000-item run
   (``ui.queries.items`` / ``outcome_counts``);
3. one HTTP request of each through the plugin's FastAPI app (in process, through ASGI: routing,
   sign-in dependency, rendering the HTML). The user is let read every DAG, and Airflow's is_paused
   lookup (one query on Airflow's own database) is left out: this process has no Airflow database.

Not a test: it prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
INTEGRATIONS, HOURS = 50, 8_760
TEMPLATES = ("health", "catalog_sync", "price_availability", "order_status")
ENDPOINTS = ("autotask", "tdsynnex_xml", "tdsynnex_ion")
BIG_RUN_ITEMS = 20_000
VENDOR_ERRORS = ("AUTOTASK_SERVER_ERROR", "TDSYNNEX_TIMEOUT", "AUTOTASK_THREAD_LIMIT", "TDSYNNEX_AUTH_FAILED")
ITEM_ERRORS = ("AUTOTASK_VALIDATION", "PRICE_BELOW_COST", "CATEGORY_UNMAPPED", "SKU_NOT_FOUND")


def integration_name(number: int) -> str:
    return f"msp-{number:03d}"


# ---- the state store ---------------------------------------------------------------------------------

def ensure_database(admin_url: str, name: str, *, fresh: bool) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and fresh:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or fresh:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def seeded(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM sync_runs")).scalar())
    except Exception:
        return False
    finally:
        engine.dispose()


def _libpq(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def _run_rows(now: datetime, rng: random.Random) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """("run", row) in start order (ids grow with time, as the templates' inserts make them) and
    ("item", row) of their items."""
    keys = [(integration_name(i), t) for i in range(INTEGRATIONS) for t in TEMPLATES]
    failing_since = {keys[5]: HOURS - 24 * 60, keys[42]: HOURS - 24 * 61}  # two cards red for two months
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)
    run_id = 0
    for hour in range(HOURS):
        started_hour = first + timedelta(hours=hour)
        for number, (integration, template) in enumerate(keys):
            run_id += 1
            started = started_hour + timedelta(seconds=number * 7 % 600)
            roll = rng.random()
            last_hour = hour == HOURS - 1
            error_code = error_message = None
            api = {"autotask": rng.randint(20, 400), "tdsynnex": rng.randint(5, 80)}
            if template == "health":
                outcomes = ["down" if rng.random() < 0.01 else "degraded" if rng.random() < 0.03 else "up"
                            for _ in ENDPOINTS]
                counts: dict[str, int] = {}
                for outcome in outcomes:
                    counts[outcome] = counts.get(outcome, 0) + 1
                status = "failure" if "down" in outcomes else "warning" if "degraded" in outcomes else "success"
                if status == "failure":
                    error_code, error_message = "AUTOTASK_SERVER_ERROR", "load: autotask down (AUTOTASK_SERVER_ERROR)"
                for endpoint, outcome in zip(ENDPOINTS, outcomes, strict=True):
                    warnings = [f"latency_ms: {rng.randint(40, 900)}"]
                    if endpoint == "autotask":
                        warnings.append(f"api_budget_left: {rng.randint(2000, 10000)} of 10000 per 60 min")
                    yield "item", ((run_id, "reconcile", None, "endpoint", endpoint, None, outcome, "[]",
                                  "AUTOTASK_SERVER_ERROR" if outcome == "down" else None,
                                  "HTTP 503" if outcome == "down" else None, json.dumps(warnings)))
                duration = rng.uniform(1, 6)
            else:
                total = {"catalog_sync": 1_200, "price_availability": 1_200, "order_status": 40}[template]
                changed = rng.randint(0, 30) if roll > 0.6 else 0
                counts = {"unchanged": total - changed, "updated": changed}
                status = "success" if changed else "no_change"
                failing = (integration, template) in failing_since and hour >= failing_since[(integration, template)]
                if failing or roll < 0.02:
                    status = "failure"
                    error_code = rng.choice(VENDOR_ERRORS)
                    error_message = f"extract: {error_code.lower().replace('_', ' ')} (HTTP 503)"
                    counts = {}
                elif roll < 0.07:
                    bad = rng.randint(1, 6)
                    outcome = rng.choice(("failed", "conflict", "quarantined"))
                    counts[outcome] = bad
                    status = "warning" if outcome != "failed" else "success"
                    for n in range(bad):
                        code = rng.choice(ITEM_ERRORS)
                        yield "item", ((run_id, "load" if outcome == "failed" else "validate", None, "product",
                                      f"SKU-{rng.randint(1, 99_999):05d}", None, outcome, "[]", code,
                                      f"{code.lower()} on item {n}", "[]"))
                duration = rng.uniform(20, 400)
            if last_hour and number % 37 == 3:
                status, finished, duration, counts = "running", None, None, {}
            else:
                finished = started + timedelta(seconds=duration)
            yield "run", ((run_id, integration, template, f"{integration}__{template}/scheduled__{started:%Y-%m-%dT%H}",
                         False, status, started, finished, duration, json.dumps(counts), json.dumps(api),
                         error_code, error_message, None))


def _big_run(run_id: int, now: datetime, rng: random.Random) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    counts = {"unchanged": 18_000, "updated": 1_500, "created": 300, "failed": 150, "conflict": 50}
    outcomes = [name for name, n in counts.items() for _ in range(n)]
    rng.shuffle(outcomes)
    items = []
    for n, outcome in enumerate(outcomes):
        code = rng.choice(ITEM_ERRORS) if outcome in ("failed", "conflict") else None
        items.append((run_id, "load", f"partition-{n % 8}", "product", f"BIG-{n:06d}", str(100_000 + n), outcome,
                      json.dumps(["price"] if outcome == "updated" else []), code,
                      f"{code.lower()} on BIG-{n:06d}" if code else None, "[]"))
    started = now - timedelta(minutes=20)
    run = (run_id, integration_name(0), "catalog_sync", f"{integration_name(0)}__catalog_sync/manual__big",
           False, "success", started, started + timedelta(minutes=14), 840.0, json.dumps(counts),
           json.dumps({"autotask": 20_400, "tdsynnex": 400}), None, None, None)
    return run, items


RUN_COLUMNS = ("id", "integration", "template", "run_key", "preview", "status", "started_at", "finished_at",
               "duration_s", "counts", "api_calls", "error_code", "error_message", "plan_path")
ITEM_COLUMNS = ("run_id", "stage", "partition", "entity_type", "source_key", "psa_id", "outcome", "changed_fields",
                "error_code", "error_message", "warnings")


def seed(url: str) -> tuple[int, int, int]:
    """Writes the year; returns (runs, items, the 20,000-item run's id)."""
    import psycopg

    rng = random.Random(20261201)
    now = datetime.now(UTC)
    runs = items = 0
    # The items wait in a file until their runs are in (a foreign key); a year of them does not fit in memory
    # as Python objects.
    with (tempfile.TemporaryFile("w+") as spool, psycopg.connect(_libpq(url)) as connection,
          connection.cursor() as cursor):
        with cursor.copy(f"COPY sync_runs ({', '.join(RUN_COLUMNS)}) FROM STDIN") as copy:
            for kind, row in _run_rows(now, rng):
                if kind == "run":
                    copy.write_row(row)
                    runs += 1
                else:
                    spool.write(_copy_line(row))
                    items += 1
            big, big_items = _big_run(runs + 1, now, rng)
            copy.write_row(big)
            runs += 1
        for row in big_items:
            spool.write(_copy_line(row))
            items += 1
        spool.seek(0)
        with cursor.copy(f"COPY sync_items ({', '.join(ITEM_COLUMNS)}) FROM STDIN") as copy:
            while block := spool.read(1 << 20):
                copy.write(block)
        cursor.execute("SELECT setval(pg_get_serial_sequence('sync_runs', 'id'), (SELECT max(id) FROM sync_runs))")
    return runs, items, int(big[0])


def _copy_line(row: tuple[Any, ...]) -> str:
    """COPY's text format; the generated values hold no tab, newline or backslash."""
    return "\t".join("\\N" if value is None else str(value) for value in row) + "\n"


def tables(url: str) -> set[str]:
    from sqlalchemy import inspect

    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def vacuum(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE sync_runs"))
        connection.execute(text("VACUUM ANALYZE sync_items"))
    engine.dispose()


def move_to(url: str, revision: str) -> str:
    from alembic import command
    from alembic.config import Config

    from channelsync.state import db

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    head = db.upgrade(url, "head") if revision == "head" else None
    if head is None:
        current = db.upgrade(url, revision)  # up to it when below …
        from alembic.script import ScriptDirectory

        if ScriptDirectory.from_config(config).get_current_head() != revision:
            command.downgrade(config, revision)  # … down to it when above
        return current
    return head


# ---- what is timed -----------------------------------------------------------------------------------

def bench_config() -> Any:
    from channelsync.config import ChannelsyncConfig

    return ChannelsyncConfig.model_validate({"integrations": [
        {"name": integration_name(i), "psa": {"system": "autotask", "conn_id": "at"},
         "distributors": {"tdsynnex": {"xml_conn_id": "xml", "ion_conn_id": "ion"}},
         "alerts": {"emails": [f"ops-{i}@example.com"]},
         "templates": {t: {"schedule": "0 * * * *"} for t in TEMPLATES}} for i in range(INTEGRATIONS)]})


def timed(label: str, tries: int, call: Callable[[], Any]) -> dict[str, float]:
    figures = []
    for _ in range(tries + 1):
        start = time.perf_counter()
        call()
        figures.append((time.perf_counter() - start) * 1000)
    cold, warm = figures[0], sorted(figures[1:])
    p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
    result = {"first_ms": round(cold, 1), "median_ms": round(statistics.median(warm), 1), "p95_ms": round(p95, 1)}
    print(f"  {label:<44} first {cold:7.1f} ms   median {result['median_ms']:7.1f} ms   p95 {p95:7.1f} ms",
          flush=True)
    return result


def dashboard_queries(url: str, config: Any) -> int:
    from channelsync.state.db import session_scope
    from channelsync.ui import dashboard, queries

    with session_scope(url) as session:
        records = queries.card_runs(session)
        cards = dashboard.build_cards(session, config=config, paused={}, now=datetime.now(UTC),
                                      may_read=lambda _dag_id: True, records=records)
    assert len(cards) == INTEGRATIONS * len(TEMPLATES), len(cards)
    return len(cards)


def run_page_queries(url: str, run_id: int) -> None:
    from channelsync.state.db import session_scope
    from channelsync.ui import queries

    with session_scope(url) as session:
        run = queries.run(session, run_id)
        assert run is not None
        rows, total = queries.items(session, run_id, outcome=None, search=None, page=1, per_page=100)
        per_outcome = queries.outcome_counts(session, run_id)
    assert total == BIG_RUN_ITEMS and len(rows) == 100 and rows[0].error_code, (total, len(rows))
    assert sum(per_outcome.values()) == BIG_RUN_ITEMS


def plugin_client(url: str, config_path: Path) -> Any:
    """The plugin's app in process, as a user the auth manager lets read every DAG."""
    os.environ.update(CHANNELSYNC_STATE_URL=url, CHANNELSYNC_CONFIG=str(config_path))
    sys.path.insert(0, str(ROOT / "plugins"))
    from channelsync_ui import app as plugin_app
    from channelsync_ui import security
    from fastapi.testclient import TestClient

    class ReadsAll(security.Access):
        def _asks(self, dag_id: str, method: str, entity: str | None) -> bool:
            return True

    async def reader(request: Request) -> Any:  # Request: imported at module level, where FastAPI looks
        request.state.channelsync_access = ReadsAll({"username": "bench"})
        return request.state.channelsync_access.user

    plugin_app.app.dependency_overrides[security.signed_in_user] = reader
    plugin_app.paused_by_dag = lambda dag_ids: {}  # Airflow's own database: not in this process
    return TestClient(plugin_app.app)


def get_ok(client: Any, path: str, marker: str) -> None:
    answer = client.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 200 and marker in answer.text, (path, answer.status_code, answer.text[:300])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("CHANNELSYNC_TEST_POSTGRES_URL"))
    parser.add_argument("--database", default="channelsync_bench")
    parser.add_argument("--revision", default="head", help="schema revision to measure (e.g. 0004: before 0005)")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed it again")
    parser.add_argument("--tries", type=int, default=9)
    args = parser.parse_args()
    if not args.postgres:
        parser.error("--postgres or CHANNELSYNC_TEST_POSTGRES_URL is needed")
    url = ensure_database(args.postgres, args.database, fresh=args.reseed)
    print(f"state store: {url.rsplit('@', 1)[-1]}  load average {os.getloadavg()}", flush=True)
    if not seeded(url):
        from channelsync.state import db

        db.upgrade(url, "0004")
        start = time.perf_counter()
        runs, items, _ = seed(url)
        print(f"seeded {runs:,} runs and {items:,} items in {time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    revision = move_to(url, args.revision)
    vacuum(url)
    print(f"schema at {revision}; migration + VACUUM ANALYZE {time.perf_counter() - start:.1f} s", flush=True)
    with create_engine(url).connect() as connection:
        big_run = int(connection.execute(text("SELECT max(id) FROM sync_runs")).scalar() or 0)
        total = connection.execute(text("SELECT count(*) FROM sync_runs")).scalar()
        indexes = connection.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('sync_runs', 'sync_items') ORDER BY 1")).scalars()
        print(f"{total:,} runs; 20,000-item run {big_run}; indexes: {', '.join(indexes)}", flush=True)
    config = bench_config()
    results: dict[str, Any] = {"revision": revision, "load_average_before": os.getloadavg()}
    from channelsync.ui import dashboard, queries  # noqa: F401  (imported once, as the API server has them)

    if "sync_run_days" in tables(url):  # 0005's day rows: the first view after the upgrade sums a month
        from channelsync.ui import trends

        with create_engine(url).begin() as connection:
            connection.execute(text("DELETE FROM sync_run_days"))
        start = time.perf_counter()
        dashboard_queries(url, config)
        results["first_view_summing_29_days_ms"] = round((time.perf_counter() - start) * 1000, 1)
        print(f"first dashboard after the upgrade (sums 29 closed days × 200 cards into sync_run_days): "
              f"{results['first_view_summing_29_days_ms']:.0f} ms", flush=True)
        trends._kept.clear()  # "first" below: a process that has not read the day rows yet
    print("timed (ms):", flush=True)
    results["dashboard_queries"] = timed("dashboard: build_cards (200 cards)", args.tries,
                                         lambda: dashboard_queries(url, config))
    results["run_page_queries"] = timed("run page: first 100 of 20,000 + counts", args.tries,
                                        lambda: run_page_queries(url, big_run))
    with tempfile.TemporaryDirectory() as home:
        config_path = Path(home) / "integrations.yaml"
        config_path.write_text(json.dumps(config.model_dump(mode="json")))  # JSON is YAML
        client = plugin_client(url, config_path)
        results["dashboard_http"] = timed("HTTP GET /  (dashboard HTML)", args.tries,
                                          lambda: get_ok(client, "/", integration_name(49)))
        results["run_page_http"] = timed(f"HTTP GET /runs/{big_run}  (first page HTML)", args.tries,
                                         lambda: get_ok(client, f"/runs/{big_run}", "BIG-"))
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
