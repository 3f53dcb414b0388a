"""The effective category map and service overrides: the integrations file's entries overlaid by the
state store's (``state/option_maps.py``) — the one place that says how, for catalog_sync (its category
selection and mapping), price_availability (the same map, read in reverse for the markup rules) and
subscription_billing (the SKUs billed to a named service), and for the pages that show it.

The rules, per key:

- no store entry: the file's entry, if any;
- a store entry that maps the key: its value, whether the file maps the key differently or not at all
  (the store wins: a person changed it after the file was written);
- a store entry that excludes the key: not in the map, even though the file has it.

A run reads the map once, when it extracts, and stages it (``<option>.json`` in the run's folder): its
later stages and tasks — another worker, a retry, a customer's task cleared by on-call — use what the
extract used, so an edit made during a run takes effect from the next run, never half-way through one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from channelsync.state.option_maps import Entry, MapKind

if TYPE_CHECKING:
    from channelsync.config import IntegrationConfig
    from channelsync.runs.context import RunContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OverlaidKey:
    """One key as the overlay decides it: the file's value, the store's entry and what is used."""

    key: str
    file_value: str | None
    entry: Entry | None
    effective: str | None  # None: not in the effective map

    @property
    def source(self) -> str:
        """file | store | store (replaces the file) | excluded"""
        if self.entry is None:
            return "file"
        if not self.entry.maps:
            return "excluded"
        if self.file_value is not None and self.file_value != self.entry.value:
            return "store (replaces the file)"
        return "store"


def explain(file_map: Mapping[str, str], entries: Iterable[Entry]) -> list[OverlaidKey]:
    """Every key of the file or the store, by key, with what the overlay makes of it (pure)."""
    from_file = {str(key): str(value) for key, value in file_map.items()}
    by_key = {entry.key: entry for entry in entries}
    out = []
    for key in sorted(set(from_file) | set(by_key)):
        entry = by_key.get(key)
        if entry is None:
            effective: str | None = from_file[key]
        else:
            effective = entry.value if entry.maps else None
        out.append(OverlaidKey(key=key, file_value=from_file.get(key), entry=entry, effective=effective))
    return out


def overlay(file_map: Mapping[str, str], entries: Iterable[Entry]) -> dict[str, str]:
    """The effective map (pure): key → value, by key."""
    return {row.key: row.effective for row in explain(file_map, entries) if row.effective is not None}


def file_map(integration: IntegrationConfig, kind: MapKind) -> dict[str, str]:
    """The integrations file's map of ``kind`` for the integration (empty without its template)."""
    template = integration.templates.get(kind.template)
    if template is None:
        return {}
    from channelsync.templates.registry import TEMPLATES

    options = TEMPLATES[kind.template].options_model.model_validate(template.options)
    return {str(key): str(value) for key, value in getattr(options, kind.option).items()}


def effective_map(url: str, kind: MapKind, integration: str, file_map: Mapping[str, str]) -> dict[str, str]:
    """The integration's effective map of ``kind`` now: ``file_map`` overlaid by the state store."""
    from channelsync.state.option_maps import entries

    return overlay(file_map, entries(url, kind, integration))


def for_run(run: RunContext, kind: MapKind, file_map: Mapping[str, str], *, refresh: bool = False) -> dict[str, str]:
    """The effective map this run uses. ``refresh`` (the extract): read it from the store and stage it;
    otherwise the staged one (read afresh only when none was staged, e.g. a stage run on its own)."""
    path = run.staging / f"{kind.option}.json"
    if not refresh and path.exists():
        staged: dict[str, str] = json.loads(path.read_text())["map"]
        return staged
    from channelsync.state.option_maps import entries

    stored = entries(run.state_url, kind, run.integration.name)
    found = overlay(file_map, stored)
    path.write_text(json.dumps({"map": found, "store_entries": [e.as_dict() for e in stored]}, sort_keys=True))
    if stored:
        log.info("%s: %d entr%s of the state store overlay the file's %d (%s); effective: %d",
                 kind.option, len(stored), "y" if len(stored) == 1 else "ies", len(file_map),
                 ", ".join(f"{e.key}={'excluded' if not e.maps else e.value}" for e in stored[:10]), len(found))
    return found
