"""category mappings and service overrides edited in the UI, one audit for every mapping

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00

- ``mapping_audit`` replaces ``customer_mapping_audit``: one audit for the mappings people edit — customer
  mappings, category mappings, service overrides — keyed by (integration, kind, mapping_key). Every
  customer audit row moves over, in order, as kind ``customer`` with the key ``distributor:account:customer_id``.
- ``category_mappings`` (created by 0001, unused until now) records who changed a row and when
  (``updated_by``, ``updated_at``); ``psa_category`` may be empty: a row with ``selected`` false excludes
  the code from catalog_sync's selection and needs no category.
- ``service_overrides``: a SKU → the PSA service subscription_billing bills it to, per integration.

Downgrading copies the customer rows back and drops what 0009 added (the category and service audit rows,
the service overrides, category rows without a category).
"""

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CUSTOMER_KEY = ["integration", "distributor", "account", "customer_id"]


def upgrade() -> None:
    op.create_table(
        "mapping_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mapping_key", sa.String(length=250), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mapping_audit_key", "mapping_audit", ["integration", "kind", "mapping_key"], unique=False)
    # ``||`` concatenates on SQLite and PostgreSQL alike; ordered by id, the history keeps its order.
    op.execute(
        'INSERT INTO mapping_audit (integration, kind, mapping_key, action, "before", "after", changed_by, changed_at) '
        "SELECT integration, 'customer', distributor || ':' || account || ':' || customer_id, action, "
        '"before", "after", changed_by, changed_at FROM customer_mapping_audit ORDER BY id'
    )
    op.drop_index("ix_customer_mapping_audit_key", table_name="customer_mapping_audit")
    op.drop_table("customer_mapping_audit")

    with op.batch_alter_table("category_mappings") as batch:
        batch.alter_column("psa_category", existing_type=sa.String(length=100), nullable=True)
        batch.add_column(sa.Column("updated_by", sa.String(length=100), nullable=False,
                                   server_default="(before 0009)"))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                   server_default=sa.text("CURRENT_TIMESTAMP")))

    op.create_table(
        "service_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=150), nullable=False),
        sa.Column("service_name", sa.String(length=250), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "sku", name="uq_service_override"),
    )


def downgrade() -> None:
    op.drop_table("service_overrides")
    op.execute("DELETE FROM category_mappings WHERE psa_category IS NULL")
    with op.batch_alter_table("category_mappings") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("updated_by")
        batch.alter_column("psa_category", existing_type=sa.String(length=100), nullable=False)

    audit = op.create_table(
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
    op.create_index("ix_customer_mapping_audit_key", "customer_mapping_audit", _CUSTOMER_KEY, unique=False)
    # The key is split here, not in SQL: SQLite and PostgreSQL have no common way to split a string.
    rows = op.get_bind().execute(sa.text(
        'SELECT integration, mapping_key, action, "before", "after", changed_by, changed_at FROM mapping_audit '
        "WHERE kind = 'customer' ORDER BY id")).all()
    copied = []
    for integration, key, action, before, after, changed_by, changed_at in rows:
        distributor, account, customer_id = [*key.split(":", 2), "", ""][:3]
        copied.append({"integration": integration, "distributor": distributor, "account": account,
                       "customer_id": customer_id, "action": action, "before": _json(before), "after": _json(after),
                       "changed_by": changed_by, "changed_at": _moment(changed_at)})
    if copied:
        op.bulk_insert(audit, copied)
    op.drop_index("ix_mapping_audit_key", table_name="mapping_audit")
    op.drop_table("mapping_audit")


def _json(value: Any) -> Any:
    """A JSON column read through plain SQL: decoded by PostgreSQL's driver, text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


def _moment(value: Any) -> Any:
    """A timestamp read through plain SQL: a datetime on PostgreSQL, text on SQLite."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
