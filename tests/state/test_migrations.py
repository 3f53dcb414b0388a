"""`channelsync db upgrade` creates the schema on an empty database; running it twice changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from channelsync.state import db
from channelsync.state.models import Base, CrossReference, OperationLedger, SyncItem, SyncRun


def _schema(url: str) -> dict[str, list[str]]:
    inspector = inspect(db.get_engine(url))
    return {table: sorted(c["name"] for c in inspector.get_columns(table)) for table in inspector.get_table_names()}


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_upgrade_creates_every_table_and_is_idempotent(state_url: str) -> None:
    assert db.upgrade(state_url) == _head()
    first = _schema(state_url)
    assert set(Base.metadata.tables) <= set(first)
    assert db.upgrade(state_url) == _head()
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
        # One claim per (target system, tenant, scope, key) — whichever integration or run makes it.
        (OperationLedger, {"target_system": "autotask", "target_tenant": "autotask:1", "scope": "tenant",
                           "idempotency_key": "k", "entity_type": "product", "op": "create", "source_key": "s",
                           "integration": "i", "template": "t", "run_id": 1, "holder": "h", "details": {}}),
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


def test_upgrade_from_0002_moves_the_ledger_and_stages_the_items(state_url: str) -> None:
    """A state store with runs, items and per-run ledger rows upgrades in place, losing nothing."""
    from sqlalchemy import select, text

    db.upgrade(state_url, revision="0002")
    with db.get_engine(state_url).begin() as connection:
        connection.execute(text("INSERT INTO sync_runs (id, integration, template, run_key, preview, status, "
                                "started_at, counts, api_calls) VALUES (1, 'i', 't', 'r', false, 'success', "
                                "CURRENT_TIMESTAMP, '{}', '{}')"))
        for outcome in ("quarantined", "conflict", "created"):
            connection.execute(text("INSERT INTO sync_items (run_id, entity_type, source_key, outcome, changed_fields, "
                                    "warnings) VALUES (1, 'product', :key, :outcome, '[]', '[]')"),
                               {"key": f"s-{outcome}", "outcome": outcome})
        connection.execute(text("INSERT INTO operation_ledger (integration, template, idempotency_key, run_id, op, "
                                "source_key, psa_id, status, created_at, updated_at) VALUES ('i', 't', 'k1', 1, "
                                "'create', 's1', '9', 'applied', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    db.upgrade(state_url)
    with db.session_scope(state_url) as session:
        stages = dict(session.execute(select(SyncItem.outcome, SyncItem.stage)).tuples().all())
        ledger = session.scalars(select(OperationLedger)).one()
    assert stages == {"quarantined": "validate", "conflict": "reconcile", "created": "load"}
    assert (ledger.scope, ledger.idempotency_key, ledger.target_id, ledger.status) == ("run:1", "k1", "9", "applied")


def test_0005_downgrades_and_upgrades_again(state_url: str) -> None:
    """0005 (the pages' indexes, the trends' day rows, alert delivery attempts) goes down to 0004 and up
    again on either dialect, keeping the runs and alert rows."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    db.upgrade(state_url)
    with db.get_engine(state_url).begin() as connection:
        connection.execute(text("INSERT INTO sync_runs (id, integration, template, run_key, preview, status, "
                                "started_at, counts, api_calls) VALUES (1, 'i', 't', 'r', false, 'success', "
                                "CURRENT_TIMESTAMP, '{}', '{}')"))
        connection.execute(text("INSERT INTO alert_log (integration, run_id, severity, recipients, subject, status, "
                                "created_at, attempts, last_error) VALUES ('i', 1, 'error', '[]', 's', 'failed', "
                                "CURRENT_TIMESTAMP, 2, 'refused')"))
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", state_url.replace("%", "%%"))
    command.downgrade(config, "0004")
    down = inspect(db.get_engine(state_url))
    assert "sync_run_days" not in down.get_table_names()
    assert "attempts" not in {c["name"] for c in down.get_columns("alert_log")}
    assert "ix_sync_runs_integration" in {i["name"] for i in down.get_indexes("sync_runs")}
    assert db.upgrade(state_url) == _head()
    up = inspect(db.get_engine(state_url))
    assert {"ix_sync_runs_key_id", "ix_sync_runs_started_at"} <= {i["name"] for i in up.get_indexes("sync_runs")}
    with db.get_engine(state_url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sync_runs")).scalar() == 1
        assert connection.execute(text("SELECT status, attempts FROM alert_log")).one() == ("failed", 0)


def test_0009_moves_the_customer_audit_into_the_mapping_audit_and_back(state_url: str) -> None:
    """0009 makes one audit of every mapping: the customer audit rows move over in order (kind
    ``customer``) and are what the customer's history shows; downgrading copies them back."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from channelsync.state.mappings import CustomerKey, mapping_history

    db.upgrade(state_url, revision="0008")
    with db.get_engine(state_url).begin() as connection:
        for action, by in (("create", "alice"), ("disable", "bob")):
            connection.execute(text(
                'INSERT INTO customer_mapping_audit (integration, distributor, account, customer_id, action, "before", '
                '"after", changed_by, changed_at) VALUES (\'i\', \'crayon\', \'4401\', \'31:7\', :action, NULL, '
                ':after, :by, CURRENT_TIMESTAMP)'), {"action": action, "by": by, "after": '{"sync_enabled": true}'})
        connection.execute(text("INSERT INTO category_mappings (integration, distributor, category_code, psa_category, "
                                "selected) VALUES ('i', 'tdsynnex', 'NBK', 'Notebooks', true)"))
    assert db.upgrade(state_url) == _head()
    history = mapping_history(state_url, "i", CustomerKey("crayon", "4401", "31:7"))
    assert [(h["action"], h["changed_by"], h["customer_id"]) for h in history] == [
        ("create", "alice", "31:7"), ("disable", "bob", "31:7")]
    assert history[0]["after"] == {"sync_enabled": True}
    with db.get_engine(state_url).connect() as connection:
        assert connection.execute(text("SELECT updated_by FROM category_mappings")).scalar() == "(before 0009)"
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", state_url.replace("%", "%%"))
    command.downgrade(config, "0008")
    tables = inspect(db.get_engine(state_url)).get_table_names()
    assert "mapping_audit" not in tables and "service_overrides" not in tables
    with db.get_engine(state_url).connect() as connection:
        rows = connection.execute(text("SELECT customer_id, action, changed_by FROM customer_mapping_audit "
                                       "ORDER BY id"))
        assert rows.all() == [("31:7", "create", "alice"), ("31:7", "disable", "bob")]
    assert db.upgrade(state_url) == _head()
