"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:12:25.217249
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "billing_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("distributor", sa.String(length=30), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_line_id", sa.String(length=64), nullable=False),
        sa.Column("psa_entity", sa.String(length=60), nullable=True),
        sa.Column("psa_id", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "distributor", "invoice_id", "invoice_line_id", name="uq_billing_line"),
    )
    op.create_table(
        "category_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("distributor", sa.String(length=30), nullable=False),
        sa.Column("category_code", sa.String(length=50), nullable=False),
        sa.Column("psa_category", sa.String(length=100), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "distributor", "category_code", name="uq_category_mapping"),
    )
    op.create_table(
        "config_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "credential_state",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=30), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "account", name="uq_credential_state"),
    )
    op.create_table(
        "customer_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("distributor", sa.String(length=30), nullable=False),
        sa.Column("customer_key", sa.String(length=100), nullable=False),
        sa.Column("customer_name", sa.String(length=250), nullable=True),
        sa.Column("psa_company_id", sa.String(length=64), nullable=True),
        sa.Column("psa_contract_id", sa.String(length=64), nullable=True),
        sa.Column("sync_enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "distributor", "customer_key", name="uq_customer_mapping"),
    )
    op.create_table(
        "order_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("psa_po_id", sa.String(length=64), nullable=False),
        sa.Column("distributor", sa.String(length=30), nullable=False),
        sa.Column("customer_po_number", sa.String(length=64), nullable=False),
        sa.Column("distributor_order_number", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("distributor", "customer_po_number", name="uq_order_customer_po"),
        sa.UniqueConstraint("integration", "psa_po_id", name="uq_order_psa_po"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=50), nullable=False),
        sa.Column("run_key", sa.String(length=250), nullable=False),
        sa.Column("preview", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("api_calls", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("plan_path", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "template", "run_key", name="uq_sync_runs_run_key"),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_integration"), ["integration"], unique=False)

    op.create_table(
        "xref",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("psa_system", sa.String(length=30), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("source_key", sa.String(length=250), nullable=False),
        sa.Column("psa_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "entity_type", "psa_id", name="uq_xref_psa"),
        sa.UniqueConstraint("integration", "entity_type", "source_key", name="uq_xref_source"),
    )
    op.create_table(
        "alert_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=50), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "operation_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=50), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=20), nullable=False),
        sa.Column("source_key", sa.String(length=250), nullable=False),
        sa.Column("psa_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "idempotency_key", name="uq_operation_key"),
    )
    op.create_table(
        "sync_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("source_key", sa.String(length=250), nullable=False),
        sa.Column("psa_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("changed_fields", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.create_index("ix_sync_items_run_outcome", ["run_id", "outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_items_source_key"), ["source_key"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_items_source_key"))
        batch_op.drop_index("ix_sync_items_run_outcome")

    op.drop_table("sync_items")
    op.drop_table("operation_ledger")
    op.drop_table("alert_log")
    op.drop_table("xref")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_integration"))

    op.drop_table("sync_runs")
    op.drop_table("order_ledger")
    op.drop_table("customer_mappings")
    op.drop_table("credential_state")
    op.drop_table("config_audit")
    op.drop_table("category_mappings")
    op.drop_table("billing_ledger")
