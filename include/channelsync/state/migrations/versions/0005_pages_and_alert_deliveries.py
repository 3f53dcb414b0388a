"""indexes for the operations pages, the trends' day rollup, alert delivery attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00

- ``sync_runs``: ``ix_sync_runs_key_id`` (integration, template, id) — a pair's newest runs by one backward
  index probe (the dashboard's cards on a year of hourly runs: 8.7 s → milliseconds, benchmarks/bench_pages.py);
  it starts with ``integration``, so ``ix_sync_runs_integration`` goes. ``ix_sync_runs_started_at``: the
  runs of the last days (the trends' live days, the error catalog's 30 days).
- ``sync_run_days``: one pair's closed day summed for the trends (``ui/trends.py``).
- ``alert_log``: ``attempts``, ``last_error``, ``last_attempt_at`` of a message's delivery.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_runs_key_id", "sync_runs", ["integration", "template", "id"], unique=False)
    op.create_index("ix_sync_runs_started_at", "sync_runs", ["started_at"], unique=False)
    op.drop_index("ix_sync_runs_integration", table_name="sync_runs")
    op.create_table(
        "sync_run_days",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("template", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "template", "day", name="uq_sync_run_days"),
    )
    with op.batch_alter_table("alert_log") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_log") as batch:
        batch.drop_column("last_attempt_at")
        batch.drop_column("last_error")
        batch.drop_column("attempts")
    op.drop_table("sync_run_days")
    op.create_index("ix_sync_runs_integration", "sync_runs", ["integration"], unique=False)
    op.drop_index("ix_sync_runs_started_at", table_name="sync_runs")
    op.drop_index("ix_sync_runs_key_id", table_name="sync_runs")
