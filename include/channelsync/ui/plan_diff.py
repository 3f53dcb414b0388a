"""The field-level plan of a run (``plan_diff.csv`` its reconcile stage staged): before → after.

An item row records which fields changed; their values are in the staged diff, next to the run's
other staged files. The maintenance DAG removes staged files past their retention, so a page must
cope without it (it then shows field names only).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass
class PlannedItem:
    source_key: str
    op: str
    target_id: str
    changes: list[FieldChange] = field(default_factory=list)


def _rows(url: str) -> Iterator[dict[str, str]]:
    from channelsync.runs.staging import as_path

    path = as_path(url)
    with path.open("r", encoding="utf-8", newline="") as source:
        yield from csv.DictReader(source)


def available(url: str | None) -> bool:
    if not url:
        return False
    try:
        from channelsync.runs.staging import as_path

        return bool(as_path(url).exists())
    except Exception:
        return False


def changes_for(url: str | None, source_keys: Iterable[str]) -> dict[str, list[FieldChange]] | None:
    """Before → after per field of the given items; None when the run has no staged diff any more."""
    if not available(url):
        return None
    wanted = set(source_keys)
    found: dict[str, list[FieldChange]] = {}
    assert url is not None
    for row in _rows(url):
        key = row.get("source_key") or ""
        if key in wanted and row.get("field"):
            found.setdefault(key, []).append(FieldChange(row["field"], row.get("before") or "", row.get("after") or ""))
    return found


def plan(url: str | None) -> list[PlannedItem] | None:
    """The whole plan, one entry per (item, operation), in the file's order; None without a staged diff."""
    if not available(url):
        return None
    assert url is not None
    planned: dict[tuple[str, str], PlannedItem] = {}
    for row in _rows(url):
        key = (row.get("source_key") or "", row.get("op") or "")
        item = planned.get(key)
        if item is None:
            item = planned[key] = PlannedItem(key[0], key[1], row.get("psa_id") or "")
        if row.get("field"):
            item.changes.append(FieldChange(row["field"], row.get("before") or "", row.get("after") or ""))
    return list(planned.values())


def plan_counts(planned: list[PlannedItem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in planned:
        counts[item.op] = counts.get(item.op, 0) + 1
    return counts
