"""Writing one keyed row of a store that audits every change (customer mappings, category mappings,
service overrides): the row is read under a lock, so the audit's "before" is what is replaced, and an
insert that lost the race to a concurrent writer says so instead of failing the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def locked(session: Session, model: type[Any], conditions: tuple[Any, ...], *, touch: str) -> Any | None:
    """The row ``conditions`` name, held until the transaction ends: ``SELECT … FOR UPDATE`` on
    PostgreSQL (a row a concurrent writer inserts after this read makes the caller's insert fail, and it
    reads again); on SQLite a no-op UPDATE of ``touch`` first takes the database's write lock, so two
    writers queue instead of one failing on a stale read."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(*conditions).values({touch: getattr(model, touch)})
                        .execution_options(synchronize_session=False))
    return session.scalars(
        select(model).where(*conditions).with_for_update().execution_options(populate_existing=True)
    ).first()


def inserted(session: Session, row: Any) -> bool:
    """Insert under a savepoint; False when a concurrent writer inserted the same key first."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True
