"""concurrency leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:00:00

``concurrency_leases``: a counting semaphore shared by every process that reaches the state store
(state/leases.py). A row (key, slot >= 0) is one of the ``limit`` slots of a key, held by ``holder``
until ``expires_at``; a row with slot -1 marks that some process is waiting for the key.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "concurrency_leases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "slot", name="uq_concurrency_lease"),
    )


def downgrade() -> None:
    op.drop_table("concurrency_leases")
