"""The presentation rules on their own: status colours and "overdue", the DAG-run note, the charts,
the catalog, and a template the UI has never heard of."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from channelsync.config import ChannelsyncConfig
from channelsync.state.db import session_scope
from channelsync.ui import catalog, charts, dashboard, notes, queries
from channelsync.ui.cards import GRAY, GREEN, RED, YELLOW, Card, RunBrief, colour, overdue_since
from channelsync.ui.labels import count_phrase, summarize_counts
from tests.plugin.conftest import ROOT
from tests.plugin.seed import seed

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=UTC)


def brief(status: str, counts: dict[str, int] | None = None, *, preview: bool = False, **extra: object) -> RunBrief:
    return RunBrief(id=1, run_key="a__b/r", status=status, preview=preview, started_at=NOW - timedelta(hours=1),
                    finished_at=NOW, duration_s=3.0, counts=counts or {}, api_calls={},
                    error_code=extra.get("error_code"), error_message=extra.get("error_message"))  # type: ignore[arg-type]


def card(last: RunBrief | None, **changes: object) -> Card:
    values: dict[str, object] = dict(integration="acme", template="catalog_sync", dag_id="acme__catalog_sync",
                                     summary="", schedule="0 3 * * *", configured=True, enabled=True, paused=False,
                                     last_run=last, last_finished=last, last_success=None, running=False,
                                     overdue=None)
    values.update(changes)
    return Card(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("built", "expected"), [
    (card(brief("success", {"created": 3})), (GREEN, ["last run fine"])),
    (card(brief("no_change", {"unchanged": 9})), (GREEN, ["last run fine"])),
    (card(brief("warning", {"conflict": 1, "created": 221})), (YELLOW, ["warnings: 1 conflict"])),
    (card(brief("warning", {"failed": 2, "created": 5})), (RED, ["errors need action: 2 failed"])),
    (card(brief("failure", error_code="AUTOTASK_AUTH_FAILED", error_message="extract: refused")),
     (RED, ["last run failed: [AUTOTASK_AUTH_FAILED] extract: refused"])),
    (card(brief("success"), overdue=NOW - timedelta(hours=7)),
     (YELLOW, ["overdue: a run was due 2026-05-06 03:00 UTC (schedule 0 3 * * *)"])),
    (card(brief("failure"), paused=True), (GRAY, ["paused in Airflow"])),
    (card(brief("success"), enabled=False), (GRAY, ["disabled in the integrations file"])),
    (card(brief("success"), configured=False), (GRAY, [
        "not configured: the integrations file has no such template (records only)"])),
    (card(None), (GRAY, ["no run yet"])),
])
def test_status_colours(built: Card, expected: tuple[str, list[str]]) -> None:
    assert colour(built) == expected


def test_a_run_is_overdue_only_once_its_grace_has_passed() -> None:
    daily = "0 3 * * *"
    ran_today = NOW.replace(hour=3, minute=1)
    assert overdue_since(daily, last_started=ran_today, now=NOW) is None
    # not run since yesterday's 03:00: at 04:00 still in grace (2 h), at 10:00 overdue since 03:00 today
    yesterday = ran_today - timedelta(days=1)
    assert overdue_since(daily, last_started=yesterday, now=NOW.replace(hour=4)) is None
    assert overdue_since(daily, last_started=yesterday, now=NOW) == NOW.replace(hour=3)
    assert overdue_since(daily, last_started=None, now=NOW) == NOW.replace(hour=3)
    # every 15 minutes: 10 minutes of grace
    quarter = "*/15 * * * *"
    assert overdue_since(quarter, last_started=NOW - timedelta(minutes=16), now=NOW) is None
    assert overdue_since(quarter, last_started=NOW - timedelta(minutes=40), now=NOW) == NOW - timedelta(minutes=15)
    assert overdue_since("@hourly", last_started=NOW - timedelta(hours=3), now=NOW) == NOW - timedelta(hours=1)
    # no clock, nothing to be late for
    for schedule in ("asset:catalog_sync", "@once", None, "not a cron"):
        assert overdue_since(schedule, last_started=None, now=NOW) is None


def test_count_phrases() -> None:
    assert [count_phrase(1, "conflict"), count_phrase(2, "conflict"), count_phrase(221, "created"),
            count_phrase(3, "warning")] == ["1 conflict", "2 conflicts", "221 created", "3 warnings"]
    assert summarize_counts({"created": 221, "conflict": 1, "unchanged": 40, "failed": 2}) == [
        "2 failed", "1 conflict", "221 created"]


def test_the_note_headline() -> None:
    assert notes.headline(status="warning", counts={"created": 221, "conflict": 1, "unchanged": 4},
                          preview=False) == "Warning — 1 conflict, 221 created"
    assert notes.headline(status="preview", counts={}, preview=True) == "Preview — nothing written"
    assert notes.headline(status="no_change", counts={"unchanged": 40}, preview=False) == "No Change — 40 unchanged"
    assert notes.headline(status="failure", counts={}, preview=False, error_code="AUTOTASK_AUTH_FAILED",
                          error_message="extract: Autotask refused the API user") == \
        "Failure — extract: [AUTOTASK_AUTH_FAILED] Autotask refused the API user"
    long = notes.headline(status="failure", counts={}, preview=False, error_message="load: " + "x" * 500)
    assert len(long) < 200 and long.endswith("…")
    assert notes.headline(status="failure", counts={}, preview=True, error_message="extract: down").startswith(
        "Failure")  # a failed preview is a failure


def test_the_note_is_markdown_safe_and_links_the_status_page() -> None:
    text = notes.note("Failure — load: [x](javascript:alert(1)) <img src=x>", run_id=7, status_url="http://a/p/7")
    first, _, link = text.partition("\n\n")
    # every character that could make a link, an image or HTML is escaped: it shows as text
    assert "\\[x\\]\\(javascript:alert\\(1\\)\\)" in first and "\\<img src=x\\>" in first
    assert link == "[channelsync run 7: items and errors](http://a/p/7)"


def _run_notes() -> object:
    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        from channelsync_ui import run_notes
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    return run_notes


def test_a_person_s_note_is_never_replaced() -> None:
    run_notes = _run_notes()
    ours = notes.note("Warning — 1 conflict", run_id=1, status_url="u")
    for before, after in ((None, "new"), ("", "new"), (ours, "new"), ("checked by hand - Jo", "checked by hand - Jo")):
        dag_run = SimpleNamespace(note=before)
        run_notes._set_note(dag_run, "new")  # type: ignore[attr-defined]
        assert dag_run.note == after


def test_charts_escape_what_they_draw() -> None:
    days = [NOW.date() - timedelta(days=n) for n in range(2, -1, -1)]
    svg = charts.errors_chart(days, {"<b>EVIL</b>": [0, 2, 1], "CATALOG_CONFLICT": [1, 0, 0]})
    assert "<b>" not in svg and "&lt;b&gt;EVIL&lt;/b&gt;" in svg
    assert svg.count("<rect") == 3
    assert "nothing in 30 days" in charts.runs_chart(days, {}, {})
    assert "no runs" in charts.duration_chart(days, [None, None, None])
    ranked = charts.errors_legend({f"C{n}": [n] for n in range(1, 8)})
    assert [code for code, _, _ in ranked] == ["C7", "C6", "C5", "C4", "C3", "other codes"]


def test_the_catalog_covers_the_codes_modules_define_and_explains_unknown_ones() -> None:
    entries = {entry.code: entry for entry in catalog.entries()}
    assert {"AUTOTASK_AUTH_FAILED", "CW_AUTH_FAILED", "TDS_FLATFILE_CORRUPT", "CATALOG_CONFLICT",
            "QUALITY_SUITE_FAILED"} <= set(entries)
    assert entries["AUTOTASK_AUTH_FAILED"].first_responder == "PSA admin"
    assert entries["TDS_FLATFILE_CORRUPT"].first_responder == "distributor support"
    unknown = catalog.describe("NOBODY_DEFINED_ME")
    assert unknown is not None and not unknown.known
    assert catalog.describe(None) is None
    assert [e.code for e in catalog.search("autotask locked", list(entries.values()))] == ["AUTOTASK_USER_LOCKED"]


def test_a_template_the_ui_never_heard_of_gets_its_card(tmp_path: Path) -> None:
    """Registered by a test module, configured, run: it shows up with no change to the UI."""
    from tests.dags.posting_template import SPEC

    url = f"sqlite:///{tmp_path / 'state.db'}"
    seed(url, tmp_path / "staging", now=NOW)
    from channelsync.state import repository

    run_id = repository.start_run(url, integration="acme", template=SPEC.name, run_key=f"acme__{SPEC.name}/r1",
                                  preview=False)
    repository.replace_items(url, run_id, "load", [{"entity_type": "posting", "source_key": "line-1",
                                                    "outcome": "posted"}])
    repository.finish_run(url, run_id, status="success", counts={"posted": 1})
    config = ChannelsyncConfig.model_validate({"integrations": [{
        "name": "acme", "psa": {"system": "autotask", "conn_id": "x"}, "distributors": {},
        "templates": {SPEC.name: {}}}]})
    with session_scope(url) as session:
        cards = dashboard.build_cards(session, config=config, paused={}, now=datetime.now(UTC),
                                      may_read=lambda dag_id: dag_id.startswith("acme__"))
    (posting,) = cards
    assert (posting.template, posting.summary, posting.schedule) == (SPEC.name, SPEC.summary, "@daily")
    assert posting.last_finished is not None and posting.last_finished.counts == {"posted": 1}
    assert posting.trends is not None and posting.trends.items["write"][-1] == 1


def test_trends_count_runs_items_errors_and_duration_per_day(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    seeded = seed(url, tmp_path / "staging", now=NOW)
    with session_scope(url) as session:
        trend = queries.trends(session, [("demo-autotask", "catalog_sync")], now=NOW)[("demo-autotask", "catalog_sync")]
        assert len(trend.days) == 30 and trend.days[-1] == NOW.date()
        assert sum(trend.runs["success"]) + sum(trend.runs["warning"]) + sum(trend.runs["failure"]) == 30
        assert trend.items["write"][-1] == 222 and trend.items["warning"][-1] == 1
        assert sum(trend.errors["CATALOG_CONFLICT"]) == 5 and sum(trend.errors["AUTOTASK_AUTH_FAILED"]) == 1
        assert trend.duration[-1] == pytest.approx(95.5)
        records = queries.card_runs(session)[("demo-autotask", "price_availability")]
        assert records.last_run is not None and records.last_run.id == seeded.failed_run
        assert records.last_success is not None and records.last_success.status == "success"


def test_csv_cells_never_start_a_formula() -> None:
    from channelsync.ui.export import cell

    assert [cell(v) for v in ("=HYPERLINK(1)", "+1", "@SUM(A1)", "-2+3", "plain", None, 5)] == [
        "'=HYPERLINK(1)", "'+1", "'@SUM(A1)", "'-2+3", "plain", "", "5"]


def test_what_a_rerun_clears() -> None:
    from channelsync.ui import reruns

    partitions = ["cust-a", "cust-b", "cust-c"]
    one = reruns.for_partition(partitions, "cust-b")
    assert one.task_ids == [("load", 1), "report"] and not one.include_downstream
    body = one.body(dag_run_id="manual__1", note="x" * 2000)
    assert body["task_ids"] == [["load", 1], "report"] and body["dag_run_id"] == "manual__1"
    assert (body["dry_run"], body["only_failed"], body["prevent_running_task"], body["reset_dag_runs"]) == (
        False, False, True, True)
    assert len(body["note"]) == reruns.NOTE_LIMIT
    with pytest.raises(reruns.RerunRefused, match="not one of this DAG run's 3 load partitions"):
        reruns.for_partition(partitions, "cust-z")

    def ti(task: str, state: str, map_index: int = -1) -> dict[str, object]:
        return {"task_id": task, "state": state, "map_index": map_index}

    mapped = reruns.for_failed([ti("load", "failed", 2), ti("load", "success", 0), ti("load", "failed", 1),
                                ti("report", "failed")], partitions)
    assert mapped.task_ids == [("load", 1), ("load", 2), "report"] and mapped.partitions == ["cust-b", "cust-c"]
    assert mapped.what == "2 failed loads (cust-b, cust-c) and the report"
    unnamed = reruns.for_failed([ti("load", "failed", 4)], None)
    assert unnamed.what == "1 failed load (4) and the report"
    stage = reruns.for_failed([ti("report", "failed"), ti("reconcile", "failed"), ti("load", "upstream_failed")])
    assert stage.task_ids == ["reconcile"] and stage.include_downstream
    assert reruns.for_failed([ti("report", "failed")]).task_ids == ["report"]
    with pytest.raises(reruns.RerunRefused, match="no failed task instance"):
        reruns.for_failed([ti("load", "success")])
    assert reruns.partition_list('["a", "b"]') == ["a", "b"] and reruns.partition_list(["a", 1]) == ["a", "1"]
    with pytest.raises(reruns.RerunRefused):
        reruns.partition_list("{not json")
    answer = {"task_instances": [{"task_id": "report", "map_index": -1, "state": None, "try_number": 1},
                                 {"task_id": "load", "map_index": 2, "state": None, "try_number": 1}]}
    assert [(t["task_id"], t["map_index"]) for t in reruns.cleared(answer)] == [("load", 2), ("report", -1)]


def test_the_mapping_list_merges_mappings_run_items_and_lines() -> None:
    import pandas as pd

    from channelsync.ui import mappings

    lines = pd.DataFrame([
        {"distributor": "Crayon", "account": 4401, "customer_id": 7, "customer_name": "Contoso", "invoice_id": "I-1",
         "price_total": 10.5, "currency": "EUR"},
        {"distributor": "crayon", "account": "4401", "customer_id": "7", "customer_name": None, "invoice_id": "I-2",
         "price_total": 4.5, "currency": "USD"},
        {"distributor": "crayon", "account": "4401", "customer_id": "8", "customer_name": "Fabrikam",
         "invoice_id": "I-1", "price_total": None, "currency": "EUR"},
    ])
    summaries = mappings.line_summaries(lines)
    contoso = summaries["crayon:4401:7"]
    assert (contoso.customer_name, contoso.invoices, contoso.lines, contoso.total, contoso.currency) == (
        "Contoso", ["I-1", "I-2"], 2, 15.0, "EUR,USD")
    assert summaries["crayon:4401:8"].total == 0.0
    saved: list[dict[str, Any]] = [
        {"key": "crayon:4401:7", "psa_company_id": "1", "psa_contract_id": "2", "sync_enabled": False,
         "customer_name": "Contoso Ltd"},
        {"key": "crayon:4401:9", "psa_company_id": "1", "psa_contract_id": None, "sync_enabled": True,
         "customer_name": None},
    ]
    in_run = {"crayon:4401:8": mappings.InRun("unmapped"), "not-a-key": mappings.InRun("posted")}
    rows = mappings.customer_rows(saved, in_run, summaries)
    assert [(r.key, r.status, r.customer_name) for r in rows] == [
        ("crayon:4401:8", "unmapped", "Fabrikam"), ("crayon:4401:9", "no contract", None),
        ("crayon:4401:7", "sync off", "Contoso Ltd")]
    assert [r.needs_mapping for r in rows] == [True, True, False]
    assert mappings.history_changes({"a": 1, "b": 2}, {"a": 1, "b": 3}) == [("b", 2, 3)]
    assert mappings.history_changes(None, {"a": 1}) == [("a", None, 1)]
    assert mappings.staged_lines(None) is None and mappings.staged_lines("file:///nowhere/plan_diff.csv") is None


def test_airflow_s_refusals_are_shown_as_it_gave_them() -> None:
    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        from channelsync_ui.airflow_api import Answer, path
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    assert path("dags", "a__b", "dagRuns", "manual__2026-01-01T00:00:00+00:00") == \
        "/api/v2/dags/a__b/dagRuns/manual__2026-01-01T00%3A00%3A00%2B00%3A00"
    assert Answer("POST", "/x", 409, {"detail": "running"}).detail == "running"
    assert Answer("POST", "/x", 422, {"detail": [{"msg": "bad id"}, {"msg": "bad map"}]}).detail == "bad id; bad map"
    assert not Answer("POST", "/x", 0, {"detail": "unreachable"}).ok and Answer("GET", "/x", 200, {}).ok
