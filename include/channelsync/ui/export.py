"""One item of a run as the JSON API and the CSV export give it: outcome, changes before → after, and
the error with the catalog's explanation and first responder."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

from channelsync.state.models import SyncItem, SyncRun
from channelsync.ui import catalog, plan_diff
from channelsync.ui.labels import outcome_kind

CSV_COLUMNS = ["run_id", "integration", "template", "entity_type", "source_key", "target_id", "outcome", "kind",
               "stage", "partition", "changed_fields", "changes", "error_code", "error_message", "explanation",
               "action", "first_responder", "warnings"]
CHUNK = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def item_record(item: SyncItem, changes: dict[str, list[plan_diff.FieldChange]] | None) -> dict[str, Any]:
    entry = catalog.describe(item.error_code)
    return {"source_key": item.source_key, "entity_type": item.entity_type, "target_id": item.psa_id,
            "outcome": item.outcome, "kind": outcome_kind(item.outcome), "stage": item.stage,
            "partition": item.partition, "changed_fields": list(item.changed_fields or []),
            "changes": [asdict(c) for c in (changes or {}).get(item.source_key, [])],
            "error_code": item.error_code, "error_message": item.error_message, "warnings": list(item.warnings or []),
            "explanation": entry.explanation if entry else None, "action": entry.action if entry else None,
            "first_responder": entry.first_responder if entry else None}


def cell(value: Any) -> str:
    """A spreadsheet must not take a vendor's text for a formula: such a cell starts with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(run: SyncRun, items: Iterable[SyncItem]) -> Iterator[str]:
    """The CSV, a chunk of items at a time (the staged diff is read once per chunk, for its items)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    chunk: list[SyncItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield _rows(run, chunk, writer, flush)
            chunk = []
    if chunk:
        yield _rows(run, chunk, writer, flush)


def _rows(run: SyncRun, chunk: list[SyncItem], writer: Any, flush: Any) -> str:
    changes = plan_diff.changes_for(run.plan_path, [i.source_key for i in chunk if i.changed_fields]) or {}
    for item in chunk:
        data = item_record(item, changes)
        writer.writerow([cell(value) for value in (
            run.id, run.integration, run.template, data["entity_type"], data["source_key"], data["target_id"],
            data["outcome"], data["kind"], data["stage"], data["partition"], ";".join(data["changed_fields"]),
            "; ".join(f"{c['field']}: {c['before']} → {c['after']}" for c in data["changes"]),
            data["error_code"], data["error_message"], data["explanation"], data["action"], data["first_responder"],
            " | ".join(str(w) for w in data["warnings"]))])
    text: str = flush()
    return text
