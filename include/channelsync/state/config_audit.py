"""The configuration audit: each change of an integration's configuration, as first run.

The integrations file lives in git (its history says who changed it); the state store records what
configuration each run actually used, and which fields changed since the previous one, so a change
in behaviour can be traced to a configuration change from the run history alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from channelsync.config import IntegrationConfig
from channelsync.state.db import session_scope
from channelsync.state.models import ConfigAudit


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists stay values)."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def record_config(url: str, integration: IntegrationConfig, *, actor: str = "config-file") -> bool:
    """Add an audit row when the configuration differs from the last one recorded; True if it did."""
    snapshot = integration.model_dump(mode="json")
    config_hash = integration.fingerprint()
    with session_scope(url) as session:
        last = session.scalars(
            select(ConfigAudit).where(ConfigAudit.integration == integration.name).order_by(ConfigAudit.id.desc())
            .limit(1)
        ).first()
        if last is not None and last.config_hash == config_hash:
            return False
        before = flatten((last.changes or {}).get("config", {})) if last is not None else {}
        after = flatten(snapshot)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        session.add(ConfigAudit(
            integration=integration.name, config_hash=config_hash,
            previous_hash=last.config_hash if last is not None else None,
            changes={"config": snapshot, "changed_fields": changed if last is not None else ["(first seen)"]},
            actor=actor,
        ))
    return True
