"""The configuration audit records a new row only when an integration's configuration changes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from channelsync.config import load_config
from channelsync.state import db
from channelsync.state.config_audit import record_config
from channelsync.state.models import ConfigAudit

DEMO = Path(__file__).resolve().parents[2] / "config" / "integrations.yaml"


def test_records_first_sight_and_changed_fields_only(state_url: str) -> None:
    db.upgrade(state_url)
    integration = load_config(DEMO).get("demo-autotask")
    assert record_config(state_url, integration)
    assert not record_config(state_url, integration)
    options = dict(integration.templates["catalog_sync"].options)
    options["markup"] = {**options["markup"], "percent": 25}
    changed = integration.model_copy(update={"templates": {
        **integration.templates,
        "catalog_sync": integration.templates["catalog_sync"].model_copy(update={"options": options}),
    }})
    assert record_config(state_url, changed)
    with db.session_scope(state_url) as session:
        rows = list(session.scalars(select(ConfigAudit).order_by(ConfigAudit.id)))
    assert [r.changes["changed_fields"] for r in rows] == [
        ["(first seen)"], ["templates.catalog_sync.options.markup.percent"]]
    assert rows[1].previous_hash == rows[0].config_hash
