"""sync_items: find a mapped load task's own items by index

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:20:00

A mapped load task replaces its own items (run, stage, partition). The index on (run_id, stage) found
every load item of the run and filtered the partition row by row, so each of a 1,000-customer run's
tasks read on average 12,500 rows to delete none, and the run's cost grew with the square of its
customers. (run_id, stage, partition) finds them directly and serves the (run_id, stage) look-ups too,
so it replaces that index.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_items_run_stage_partition", "sync_items", ["run_id", "stage", "partition"])
    op.drop_index("ix_sync_items_run_stage", table_name="sync_items")


def downgrade() -> None:
    op.create_index("ix_sync_items_run_stage", "sync_items", ["run_id", "stage"])
    op.drop_index("ix_sync_items_run_stage_partition", table_name="sync_items")
