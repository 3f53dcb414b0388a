"""Reading the profile's state store (PostgreSQL) directly: the runs it recorded and its operation ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

UNSETTLED = ("pending", "unknown")  # claimed but not known to be applied or refused: a claim's send / uncertain


def _rows(url: str, query: str, **params: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


def sync_runs(url: str) -> list[dict[str, Any]]:
    return _rows(url, "SELECT id, integration, template, run_key, status, counts, duration_s, error_message "
                      "FROM sync_runs ORDER BY id")


def ledger_by_status(url: str) -> dict[str, int]:
    return {row["status"]: row["n"] for row in
            _rows(url, "SELECT status, count(*) AS n FROM operation_ledger GROUP BY status")}


def unsettled_operations(url: str) -> list[dict[str, Any]]:
    return _rows(url, "SELECT id, target_system, scope, idempotency_key, op, status, integration, template "
                      "FROM operation_ledger WHERE status IN ('pending', 'unknown') ORDER BY id")
