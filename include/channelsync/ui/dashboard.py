"""The dashboard's cards: one per (integration, template) of the integrations file, plus any with run
records but no longer configured. Built from the config, the template registry and the records only,
so a new template shows up with no change here.

Each card also shows the endpoints its template uses (the PSA, and the distributors its registry entry
names; all of them when it names none) as the integration's last health check recorded them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from channelsync.config import ChannelsyncConfig
from channelsync.templates.dag_builder import dag_id_for
from channelsync.templates.health.status import EndpointState
from channelsync.templates.registry import TEMPLATES
from channelsync.ui import queries
from channelsync.ui.cards import ENDPOINT_STALE_AFTER, Card, Endpoint, as_utc, finalize, overdue_since

PSA_SYSTEMS = ("autotask", "connectwise")  # health's item keys of the PSA (templates/health/probe.py)


@dataclass(frozen=True)
class Configured:
    enabled: bool
    schedule: str | None


def configured_templates(config: ChannelsyncConfig | None) -> dict[queries.Key, Configured]:
    found: dict[queries.Key, Configured] = {}
    for integration in config.integrations if config else []:
        for name, template in integration.templates.items():
            spec = TEMPLATES.get(name)
            schedule = template.schedule or (spec.default_schedule if spec else None)
            found[(integration.name, name)] = Configured(enabled=template.enabled, schedule=schedule)
    return found


def card_keys(config: ChannelsyncConfig | None, records: dict[queries.Key, queries.CardRuns]) -> list[queries.Key]:
    """Configured pairs in the file's order, then pairs known only from records."""
    configured = list(configured_templates(config))
    return configured + sorted(key for key in records if key not in set(configured))


def build_cards(session: Session, *, config: ChannelsyncConfig | None, paused: dict[str, bool], now: datetime,
                may_read: Callable[[str], bool], records: dict[queries.Key, queries.CardRuns] | None = None,
                with_trends: bool = True) -> list[Card]:
    """Cards for the DAGs ``may_read`` allows, coloured; ``paused``: Airflow's is_paused by DAG id;
    ``records``: :func:`queries.card_runs`, when the caller has read them already."""
    records = queries.card_runs(session) if records is None else records
    configured = configured_templates(config)
    health_runs = {integration: runs.last_finished.id for (integration, template), runs in records.items()
                   if template == queries.HEALTH and runs.last_finished is not None}
    states = queries.endpoint_states(session, health_runs)
    cards: list[Card] = []
    for integration, template in card_keys(config, records):
        dag_id = dag_id_for(integration, template)
        if not may_read(dag_id):
            continue
        runs = records.get((integration, template), queries.CardRuns())
        setting = configured.get((integration, template))
        spec = TEMPLATES.get(template)
        schedule = setting.schedule if setting else None
        last_real = runs.last_real
        card = Card(
            integration=integration, template=template, dag_id=dag_id,
            summary=spec.summary if spec else "template not registered in this installation",
            schedule=schedule, configured=setting is not None, enabled=bool(setting and setting.enabled),
            paused=paused.get(dag_id), last_run=runs.last_run, last_finished=runs.last_finished,
            last_success=runs.last_success, running=bool(last_real and last_real.status == "running"),
            overdue=overdue_since(schedule, last_started=last_real.started_at if last_real else None, now=now),
            endpoints=[endpoint(state, now) for state in states.get(integration, []) if uses(template, state.key)],
        )
        cards.append(finalize(card))
    if with_trends:
        trend_by_key = queries.trends(session, [(c.integration, c.template) for c in cards], now=now)
        for card in cards:
            card.trends = trend_by_key.get((card.integration, card.template))
    return cards


def uses(template: str, system: str) -> bool:
    """Whether ``template`` calls ``system`` (a health item key: "autotask", "tdsynnex_ion", "crayon" …): the
    PSA, and the distributors its registry entry names. One that names none uses whichever the
    integration configures (billing: Crayon or Pax8), so every endpoint counts for it, as for health."""
    spec = TEMPLATES.get(template)
    if template == queries.HEALTH or spec is None or not spec.distributors:
        return True
    return system in PSA_SYSTEMS or any(system == name or system.startswith(f"{name}_") for name in spec.distributors)


def endpoint(state: EndpointState, now: datetime) -> Endpoint:
    checked = as_utc(state.checked_at)
    return Endpoint(key=state.key, outcome=state.outcome, run_id=state.run_id, checked_at=checked,
                    stale=checked is None or now - checked > ENDPOINT_STALE_AFTER, latency_ms=state.latency_ms,
                    budget_left=state.budget_left, budget_limit=state.budget_limit, error_code=state.error_code,
                    error_message=state.error_message)
