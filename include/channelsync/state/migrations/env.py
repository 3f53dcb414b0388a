"""Alembic environment for the channelsync state store (online mode only)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from channelsync.state.models import Base

url = context.config.get_main_option("sqlalchemy.url") or ""
connectable = create_engine(url)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()
