"""approval decisions on run plans

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00

- ``sync_approvals``: one row per (run, plan digest): who approved or rejected a plan before its load,
  when, why it was asked (runs/approval.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=50), nullable=False),
        sa.Column("plan_digest", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=250), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "plan_digest", name="uq_sync_approval"),
    )
    op.create_index("ix_sync_approvals_template", "sync_approvals", ["integration", "template", "decision"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_sync_approvals_template", table_name="sync_approvals")
    op.drop_table("sync_approvals")
