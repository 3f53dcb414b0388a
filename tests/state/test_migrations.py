"""`channelsync db upgrade` creates the schema on an empty database; running it twice changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from channelsync.state import db
from channelsync.state.models import Base, BillingLedger, CrossReference, OperationLedger, OrderLedger, SyncRun


def _schema(url: str) -> dict[str, list[str]]:
    inspector = inspect(db.get_engine(url))
    return {table: sorted(c["name"] for c in inspector.get_columns(table)) for table in inspector.get_table_names()}


def test_upgrade_creates_every_table_and_is_idempotent(state_url: str) -> None:
    assert db.upgrade(state_url) == "0001"
    first = _schema(state_url)
    assert set(Base.metadata.tables) <= set(first)
    assert db.upgrade(state_url) == "0001"
    assert _schema(state_url) == first


def test_migration_matches_the_models(state_url: str) -> None:
    """The migration and the models must not drift: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db.upgrade(state_url)
    with db.get_engine(state_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


@pytest.mark.parametrize(
    ("model", "row"),
    [
        (OperationLedger, {"integration": "i", "template": "t", "idempotency_key": "k", "op": "create", "run_id": 1,
                           "source_key": "s"}),
        (OrderLedger, {"integration": "i", "psa_po_id": "7", "distributor": "tdsynnex", "customer_po_number": "PO7"}),
        (BillingLedger, {"integration": "i", "distributor": "crayon", "invoice_id": "INV1", "invoice_line_id": "1"}),
        (CrossReference, {"integration": "i", "psa_system": "autotask", "entity_type": "product",
                          "source_key": "s", "psa_id": "1", "fingerprint": "f"}),
    ],
)
def test_unique_keys_refuse_a_second_row(state_url: str, model: type, row: dict[str, str]) -> None:
    db.upgrade(state_url)
    with db.session_scope(state_url) as session:
        session.add(SyncRun(id=1, integration="i", template="t", run_key="r"))
    with db.session_scope(state_url) as session:
        session.add(model(**row))
    with pytest.raises(IntegrityError), db.session_scope(state_url) as session:
        session.add(model(**row))
