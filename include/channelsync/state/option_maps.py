"""The maps of the integrations file that people also edit in the pages and the CLI, kept in the state
store: catalog_sync's category mappings (a TD SYNNEX category code → the PSA category its products are
filed under) and subscription_billing's service overrides (a SKU retired from the price list → the PSA
service its invoice lines are billed to). What the templates use is the file's map overlaid by these
entries (``channelsync.effective_maps``, the one place that says how).

An entry of the store, for one key of one integration, either

- **maps** the key to a value (active, with a value): the store wins over the file, or adds a key the
  file lacks; or
- **excludes** the key (inactive): the key is not in the effective map even though the file has it — a
  category no longer synced, a file override no longer applied. Its last value is kept, so including the
  key again needs no retyping.

Removing the entry gives the key back to the file. Each write records its audit row
(``state/mapping_audit.py``) in the same transaction; a write that changes nothing records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channelsync.errors import ChannelsyncError, define
from channelsync.state import mapping_audit
from channelsync.state.db import session_scope
from channelsync.state.models import CategoryMapping, ServiceOverride
from channelsync.state.row_writes import inserted, locked

MAP_ENTRY_INVALID = define("MAP_ENTRY_INVALID", "channelsync",
                           "A category mapping or service override, or its key, is not valid")
MAP_ENTRY_NOT_FOUND = define("MAP_ENTRY_NOT_FOUND", "channelsync",
                             "The state store has no category mapping or service override for that key")


class MapEntryError(ChannelsyncError):
    code = MAP_ENTRY_INVALID


class MapEntryNotFound(MapEntryError):
    code = MAP_ENTRY_NOT_FOUND


@dataclass(frozen=True)
class MapKind:
    """One editable map: the template option it overlays, and its table's columns."""

    name: mapping_audit.Kind  # the audit's kind
    template: str  # the template whose option it overlays (and whose DAG's permissions govern it)
    option: str  # the option's name in the integrations file
    model: type[Any]
    key_column: str
    value_column: str
    switch_column: str  # True: the entry maps the key; False: it excludes it
    key_label: str
    value_label: str
    key_max: int
    value_max: int
    distributor: str | None = None  # part of the row's key: the distributor whose codes the keys are

    def audit_key(self, key: str) -> str:
        return f"{self.distributor}:{key}" if self.distributor else key

    def conditions(self, integration: str, key: str | None = None) -> tuple[Any, ...]:
        found: list[Any] = [self.model.integration == integration]
        if self.distributor:
            found.append(self.model.distributor == self.distributor)
        if key is not None:
            found.append(getattr(self.model, self.key_column) == key)
        return tuple(found)


CATEGORIES = MapKind(name="category", template="catalog_sync", option="category_map", model=CategoryMapping,
                     key_column="category_code", value_column="psa_category", switch_column="selected",
                     key_label="category code", value_label="PSA category", key_max=50, value_max=100,
                     distributor="tdsynnex")
SERVICES = MapKind(name="service", template="subscription_billing", option="service_overrides",
                   model=ServiceOverride, key_column="sku", value_column="service_name", switch_column="enabled",
                   key_label="SKU", value_label="PSA service", key_max=150, value_max=250)
KINDS: dict[str, MapKind] = {kind.name: kind for kind in (CATEGORIES, SERVICES)}


@dataclass(frozen=True)
class Entry:
    """One key's entry in the store: its value (None: excluded without one) and whether it maps the key."""

    key: str
    value: str | None
    active: bool
    updated_by: str
    updated_at: str  # ISO, UTC

    @property
    def maps(self) -> bool:
        return self.active and bool(self.value)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "active": self.active, "updated_by": self.updated_by,
                "updated_at": self.updated_at}


# --- reading ---------------------------------------------------------------------------------------


def entries(url: str, kind: MapKind, integration: str) -> list[Entry]:
    """Every entry of the integration's map of ``kind``, by key."""
    column = getattr(kind.model, kind.key_column)
    with session_scope(url) as session:
        rows = session.scalars(select(kind.model).where(*kind.conditions(integration)).order_by(column)).all()
        return [_entry(kind, row) for row in rows]


def get_entry(url: str, kind: MapKind, integration: str, key: str) -> Entry | None:
    with session_scope(url) as session:
        row = session.scalars(select(kind.model).where(*kind.conditions(integration, clean_key(kind, key)))).first()
        return None if row is None else _entry(kind, row)


def history(url: str, kind: MapKind, integration: str, key: str | None = None) -> list[dict[str, Any]]:
    """The audit rows of the integration's map (of one key), oldest first; ``key`` as the map names it."""
    audit_key = None if key is None else kind.audit_key(clean_key(kind, key))
    rows = mapping_audit.history(url, integration, kind.name, audit_key)
    prefix = f"{kind.distributor}:" if kind.distributor else ""
    for row in rows:
        row["key"] = row["key"].removeprefix(prefix)
    return rows


# --- changing ---------------------------------------------------------------------------------------


def set_entry(url: str, kind: MapKind, integration: str, key: str, value: str, *, by: str) -> str | None:
    """Map ``key`` to ``value`` (creating, changing or including again the entry). Returns the action
    recorded — ``create``, ``update`` or ``include`` — or None when the entry already said exactly this."""
    key, value, by = clean_key(kind, key), _value(kind, value), _actor(by)
    with session_scope(url) as session:
        row = _locked(session, kind, integration, key)
        if row is None:
            row = _new(kind, integration, key, value=value, active=True, by=by)
            if inserted(session, row):
                _audit(session, kind, integration, key, "create", None, _snapshot(kind, row), by)
                return "create"
            row = _locked(session, kind, integration, key)  # another writer created it first: change theirs
            assert row is not None
        action = "update" if getattr(row, kind.switch_column) else "include"
        return _change(session, kind, row, integration, key, action, value=value, active=True, by=by)


def exclude_entry(url: str, kind: MapKind, integration: str, key: str, *, by: str) -> str | None:
    """Exclude ``key`` from the effective map, whatever the file says (its value, if any, is kept).
    Returns ``exclude``, or None when it already was excluded."""
    key, by = clean_key(kind, key), _actor(by)
    with session_scope(url) as session:
        row = _locked(session, kind, integration, key)
        if row is None:
            row = _new(kind, integration, key, value=None, active=False, by=by)
            if inserted(session, row):
                _audit(session, kind, integration, key, "exclude", None, _snapshot(kind, row), by)
                return "exclude"
            row = _locked(session, kind, integration, key)
            assert row is not None
        return _change(session, kind, row, integration, key, "exclude", value=getattr(row, kind.value_column),
                       active=False, by=by)


def remove_entry(url: str, kind: MapKind, integration: str, key: str, *, by: str) -> str:
    """Delete the entry (its history stays): the integrations file decides the key again. Returns
    ``remove``; :class:`MapEntryNotFound` when there is none."""
    key, by = clean_key(kind, key), _actor(by)
    with session_scope(url) as session:
        row = _locked(session, kind, integration, key)
        if row is None:
            raise MapEntryNotFound(f"integration {integration!r} has no {kind.key_label} {key!r} in the state store "
                                   "(the integrations file alone decides it)")
        before = _snapshot(kind, row)
        session.delete(row)
        _audit(session, kind, integration, key, "remove", before, None, by)
        return "remove"


def clean_key(kind: MapKind, key: Any) -> str:
    """A key as stored: stripped, not empty, within the column."""
    text = str(key if key is not None else "").strip()
    if not text:
        raise MapEntryError(f"the {kind.key_label} is required")
    if len(text) > kind.key_max or any(ch in text for ch in "\r\n\t"):
        raise MapEntryError(f"not a {kind.key_label}: {text[:60]!r} (one line, at most {kind.key_max} characters)")
    return text


# --- helpers ----------------------------------------------------------------------------------------


def _value(kind: MapKind, value: Any) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if not text:
        raise MapEntryError(f"the {kind.value_label} is required (to stop using the key, exclude it)")
    if len(text) > kind.value_max:
        raise MapEntryError(f"the {kind.value_label} {text[:60]!r}… is longer than {kind.value_max} characters")
    return text


def _actor(by: str) -> str:
    text = str(by or "").strip()
    if not text:
        raise MapEntryError("who makes the change is required (--by)")
    return text[:100]


def _locked(session: Session, kind: MapKind, integration: str, key: str) -> Any | None:
    return locked(session, kind.model, kind.conditions(integration, key), touch=kind.switch_column)


def _new(kind: MapKind, integration: str, key: str, *, value: str | None, active: bool, by: str) -> Any:
    fields: dict[str, Any] = {"integration": integration, kind.key_column: key, kind.value_column: value,
                              kind.switch_column: active, "updated_by": by, "updated_at": mapping_audit.now()}
    if kind.distributor:
        fields["distributor"] = kind.distributor
    return kind.model(**fields)


def _change(session: Session, kind: MapKind, row: Any, integration: str, key: str, action: str, *,
            value: str | None, active: bool, by: str) -> str | None:
    before = _snapshot(kind, row)
    if before == {kind.value_column: value, kind.switch_column: active}:
        return None
    setattr(row, kind.value_column, value)
    setattr(row, kind.switch_column, active)
    row.updated_by, row.updated_at = by, mapping_audit.now()
    _audit(session, kind, integration, key, action, before, _snapshot(kind, row), by)
    return action


def _audit(session: Session, kind: MapKind, integration: str, key: str, action: str,
           before: dict[str, Any] | None, after: dict[str, Any] | None, by: str) -> None:
    mapping_audit.record(session, integration=integration, kind=kind.name, key=kind.audit_key(key), action=action,
                         before=before, after=after, by=by)


def _snapshot(kind: MapKind, row: Any) -> dict[str, Any]:
    return {kind.value_column: getattr(row, kind.value_column),
            kind.switch_column: bool(getattr(row, kind.switch_column))}


def _entry(kind: MapKind, row: Any) -> Entry:
    return Entry(key=getattr(row, kind.key_column), value=getattr(row, kind.value_column),
                 active=bool(getattr(row, kind.switch_column)), updated_by=row.updated_by,
                 updated_at=mapping_audit.aware(row.updated_at).isoformat())
