"""Endpoint status from the health template's records: on the cards (a down endpoint the template uses
turns its card Red, a degraded one Yellow, a stale one nothing), read back when the newest health run
recorded none, and in ``channelsync status``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from channelsync.state import repository
from channelsync.state.db import session_scope, upgrade
from channelsync.ui import dashboard, queries
from channelsync.ui.cards import GREEN, RED, YELLOW, Endpoint, colour
from tests.plugin.test_ui_units import NOW, brief, card


def endpoint(key: str, outcome: str, *, stale: bool = False, code: str | None = None) -> Endpoint:
    return Endpoint(key=key, outcome=outcome, run_id=7, checked_at=NOW - timedelta(minutes=3), stale=stale,
                    error_code=code)


@pytest.mark.parametrize(("endpoints", "expected"), [
    ([endpoint("autotask", "up"), endpoint("tdsynnex_xml", "up")], (GREEN, ["last run fine"])),
    ([endpoint("autotask", "down", code="AUTOTASK_SERVER_ERROR")],
     (RED, ["endpoint down: autotask [AUTOTASK_SERVER_ERROR] at the health check of 2026-05-06 09:57 UTC"])),
    ([endpoint("tdsynnex_ion", "degraded")],
     (YELLOW, ["endpoint degraded: tdsynnex_ion (slow, or little API budget left)"])),
    ([endpoint("autotask", "down", stale=True)], (GREEN, ["last run fine"])),  # a week-old outage says nothing
])
def test_endpoints_colour_the_card(endpoints: list[Endpoint], expected: tuple[str, list[str]]) -> None:
    assert colour(card(brief("success"), endpoints=endpoints)) == expected


def test_a_template_counts_the_psa_and_its_own_distributors_only() -> None:
    assert dashboard.uses("catalog_sync", "autotask") and dashboard.uses("catalog_sync", "tdsynnex_ion")
    assert not dashboard.uses("catalog_sync", "crayon")
    assert dashboard.uses("health", "crayon") and dashboard.uses("subscription_billing", "pax8")  # names none
    assert dashboard.uses("a_template_not_registered", "crayon")
    checked = NOW - timedelta(hours=3)
    from channelsync.templates.health.status import EndpointState

    assert dashboard.endpoint(EndpointState(key="autotask", outcome="down", run_id=1, checked_at=checked), NOW).stale


def _health_run(url: str, key: str, states: dict[str, str], *, failed_early: bool = False) -> int:
    import channelsync.templates.health.steps  # noqa: F401  (declares up / degraded / down)

    run_id = repository.start_run(url, integration="acme", template="health", run_key=f"acme__health/{key}",
                                  preview=False)
    if not failed_early:
        repository.replace_items(url, run_id, "reconcile", [
            {"entity_type": "endpoint", "source_key": name, "outcome": outcome,
             "warnings": ["latency_ms: 85", "api_budget_left: 9000 of 10000 per 60 min"]}
            for name, outcome in states.items()])
    repository.finish_run(url, run_id, status="failure" if failed_early else "no_change",
                          counts=repository.item_counts(url, run_id))
    return run_id


def test_endpoint_states_come_from_the_newest_finished_health_run_or_the_ones_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    _health_run(url, "1", {"autotask": "up", "crayon": "up"})
    second = _health_run(url, "2", {"autotask": "up", "crayon": "down"})
    with session_scope(url) as session:
        found = queries.endpoint_states(session, {"acme": second})["acme"]
    assert [(s.key, s.outcome, s.run_id, s.latency_ms, s.budget_left) for s in found] == [
        ("autotask", "up", second, 85.0, 9000), ("crayon", "down", second, 85.0, 9000)]
    third = _health_run(url, "3", {}, failed_early=True)  # failed before it recorded any system
    with session_scope(url) as session:
        records = queries.card_runs(session)
        assert records[("acme", "health")].last_finished.id == third  # type: ignore[union-attr]
        fallback = queries.endpoint_states(session, {"acme": third})["acme"]
    assert {s.key: (s.outcome, s.run_id) for s in fallback} == {"autotask": ("up", second), "crayon": ("down", second)}


def test_channelsync_status_prints_each_integration_s_endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from channelsync.cli.status import print_status

    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("CHANNELSYNC_STATE_URL", url)
    upgrade(url)
    _health_run(url, "1", {"autotask": "up", "crayon": "down"})
    assert print_status(None, 5) == 0
    lines = capsys.readouterr().out.splitlines()
    endpoint_lines = lines[lines.index(next(line for line in lines if line.startswith("endpoints"))) + 1:]
    assert [line.split()[:3] for line in endpoint_lines] == [["acme", "autotask", "UP"], ["acme", "crayon", "DOWN"]]
    assert "85 ms" in endpoint_lines[0] and "API budget 9000 of 10000 left" in endpoint_lines[0]
    assert datetime.now(UTC).strftime("%Y-%m-%d") in endpoint_lines[1]
