"""INSERT … ON CONFLICT for both dialects the state store runs on (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session


def upsert(
    session: Session,
    model: type,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert ``rows``; on a conflict of ``keys`` update ``update`` columns (or do nothing).

    A Core statement on the model's table with the rows as executemany parameters: compiled once and
    cached (a multi-row ``VALUES`` is compiled again for every call, a millisecond each time). Every
    row carries the same columns."""
    if not rows:
        return
    statement = _statement(session.get_bind().dialect.name, getattr(model, "__table__", model), tuple(keys),
                           tuple(update))
    session.execute(statement, [dict(row) for row in rows])


@lru_cache(maxsize=64)
def _statement(dialect: str, table: Any, keys: tuple[str, ...], update: tuple[str, ...]) -> Any:
    statement = dialect_insert(dialect, table)
    if update:
        return statement.on_conflict_do_update(
            index_elements=list(keys), set_={column: statement.excluded[column] for column in update})
    return statement.on_conflict_do_nothing(index_elements=list(keys))


def dialect_insert(dialect: str, table: Any) -> Any:
    """``INSERT`` with ``on_conflict_do_*`` for the state store's dialect (PostgreSQL, else SQLite)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(table)
