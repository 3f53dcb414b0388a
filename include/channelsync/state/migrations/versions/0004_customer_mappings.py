"""customer mappings keyed by distributor account, with their audit

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 17:00:00

- ``customer_mappings`` (created by 0001, unused until now) is keyed by (integration, distributor,
  account, customer id): one integration may bill several distributor accounts (Crayon organizations,
  Pax8 partners). ``customer_key`` becomes ``customer_id``; an existing row gets the account ``""``.
  New columns: ``psa_tenant`` (the PSA database the mapping was validated against, to find a customer
  mapped by two integrations on one PSA), ``updated_by`` and ``updated_at``.
- ``customer_mapping_audit``: one row per change (who, when, action, the row before and after).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_KEY = ["integration", "distributor", "account", "customer_id"]


def upgrade() -> None:
    with op.batch_alter_table("customer_mappings") as batch:
        batch.drop_constraint("uq_customer_mapping", type_="unique")
        batch.alter_column("customer_key", new_column_name="customer_id", existing_type=sa.String(length=100),
                           existing_nullable=False)
        batch.add_column(sa.Column("account", sa.String(length=100), nullable=False, server_default=""))
        batch.add_column(sa.Column("psa_tenant", sa.String(length=150), nullable=True))
        batch.add_column(sa.Column("updated_by", sa.String(length=100), nullable=False,
                                   server_default="(before 0004)"))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                   server_default=sa.text("CURRENT_TIMESTAMP")))
    with op.batch_alter_table("customer_mappings") as batch:  # SQLite: on the copy with the new columns
        batch.create_unique_constraint("uq_customer_mapping", _KEY)
    op.create_table(
        "customer_mapping_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("distributor", sa.String(length=30), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_mapping_audit_key", "customer_mapping_audit", _KEY, unique=False)


def downgrade() -> None:
    op.drop_index("ix_customer_mapping_audit_key", table_name="customer_mapping_audit")
    op.drop_table("customer_mapping_audit")
    with op.batch_alter_table("customer_mappings") as batch:
        batch.drop_constraint("uq_customer_mapping", type_="unique")
        batch.drop_column("updated_at")
        batch.drop_column("updated_by")
        batch.drop_column("psa_tenant")
        batch.drop_column("account")
        batch.alter_column("customer_id", new_column_name="customer_key", existing_type=sa.String(length=100),
                           existing_nullable=False)
    with op.batch_alter_table("customer_mappings") as batch:
        batch.create_unique_constraint("uq_customer_mapping", ["integration", "distributor", "customer_key"])
