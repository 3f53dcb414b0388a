"""target-neutral ledger, items carry their stage

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:40:00

- ``operation_ledger`` is keyed by (target system, target tenant, scope, idempotency key) instead of
  (run, key): a write scoped to the tenant is claimed once, whatever run or integration carries it.
  Rows of the old per-run ledger are copied as run-scoped rows of an unknown tenant ("legacy"); they
  only ever mattered to a retry of their own run, which a new version never performs.
- ``order_ledger`` and ``billing_ledger`` are dropped: nothing used them, and orders and billing
  postings are tenant-scoped rows of the one ledger.
- ``sync_items.stage`` records which stage wrote an item, backfilled from the outcome names, and
  ``sync_items.partition`` which mapped load task (one customer, one order) did.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_STAGE_OF = {"quarantined": "validate", "warning": "validate", "conflict": "reconcile", "duplicate": "reconcile"}


def upgrade() -> None:
    with op.batch_alter_table("sync_items") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=20), nullable=False, server_default="load"))
        batch.add_column(sa.Column("partition", sa.String(length=250), nullable=True))
        batch.create_index("ix_sync_items_run_stage", ["run_id", "stage"], unique=False)
    for outcome, stage in _STAGE_OF.items():
        op.execute(sa.text("UPDATE sync_items SET stage = :stage WHERE outcome = :outcome").bindparams(
            stage=stage, outcome=outcome))

    op.rename_table("operation_ledger", "operation_ledger_v1")
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL names constraints per schema: free the name for the new table.
        op.execute("ALTER TABLE operation_ledger_v1 RENAME CONSTRAINT uq_operation_key TO uq_operation_key_v1")
    op.create_table(
        "operation_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target_system", sa.String(length=30), nullable=False),
        sa.Column("target_tenant", sa.String(length=150), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("op", sa.String(length=20), nullable=False),
        sa.Column("source_key", sa.String(length=250), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=50), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target_system", "target_tenant", "scope", "idempotency_key", name="uq_operation_key"),
    )
    op.create_index("ix_operation_ledger_run", "operation_ledger", ["run_id"], unique=False)
    op.execute(sa.text(
        "INSERT INTO operation_ledger (target_system, target_tenant, scope, idempotency_key, entity_type, op, "
        "source_key, target_id, status, integration, template, run_id, holder, details, error_code, error_message, "
        "created_at, updated_at) "
        "SELECT 'legacy', integration, 'run:' || CAST(run_id AS VARCHAR(20)), idempotency_key, 'product', op, "
        "source_key, psa_id, status, integration, template, run_id, 'legacy', '{}', error_code, error_message, "
        "created_at, updated_at FROM operation_ledger_v1"
    ))
    op.drop_table("operation_ledger_v1")
    op.drop_table("order_ledger")
    op.drop_table("billing_ledger")


def downgrade() -> None:
    raise NotImplementedError("0003 is not reversible: restore the state store from a backup instead")
