"""The audit of every mapping people edit — customer mappings (``state/mappings.py``), category mappings
and service overrides (``state/option_maps.py``): one row per change with who, when, the action and the
mapping before and after, written by the store in the transaction of the change it records. The pages'
and the CLI's histories read it back here. A mapping is named within its kind and integration by its
key (``crayon:4401:310007``, ``tdsynnex:NBK``, a SKU)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channelsync.state.db import session_scope
from channelsync.state.models import MappingAudit

Kind = Literal["customer", "category", "service"]


def record(session: Session, *, integration: str, kind: Kind, key: str, action: str,
           before: dict[str, Any] | None, after: dict[str, Any] | None, by: str) -> None:
    """Add the audit row of a change (in the caller's transaction: the change and its row commit together)."""
    session.add(MappingAudit(integration=integration, kind=kind, mapping_key=key, action=action, before=before,
                             after=after, changed_by=by, changed_at=now()))


def history(url: str, integration: str, kind: Kind, key: str | None = None) -> list[dict[str, Any]]:
    """The audit rows of the integration's mappings of ``kind`` (of one mapping when ``key`` is given),
    oldest first: id, integration, kind, key, action, before, after, changed_by, changed_at (ISO, UTC)."""
    query = select(MappingAudit).where(MappingAudit.integration == integration, MappingAudit.kind == kind)
    if key is not None:
        query = query.where(MappingAudit.mapping_key == key)
    with session_scope(url) as session:
        rows = session.scalars(query.order_by(MappingAudit.id)).all()
        return [{"id": row.id, "integration": row.integration, "kind": row.kind, "key": row.mapping_key,
                 "action": row.action, "before": row.before, "after": row.after, "changed_by": row.changed_by,
                 "changed_at": aware(row.changed_at).isoformat()} for row in rows]


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
