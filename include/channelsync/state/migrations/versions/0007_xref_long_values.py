"""xref: room for what billing keeps per contract service

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00

subscription_billing keeps, per customer and contract service, the stretches it last posted (a JSON list)
as the cross-reference's fingerprint, and ``<customer key>|<contract>:<service>`` as its PSA id: both
outgrow 64 characters (two stretches already do; a Pax8 customer key is a UUID). PostgreSQL refused the
write ("value too long for type character varying(64)"); SQLite does not enforce lengths, so only the
production profile's system test saw it. ``fingerprint`` becomes text, ``psa_id`` 250 characters.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xref") as batch:
        batch.alter_column("fingerprint", type_=sa.Text(), existing_type=sa.String(length=64), existing_nullable=False)
        batch.alter_column("psa_id", type_=sa.String(length=250), existing_type=sa.String(length=64),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("xref") as batch:
        batch.alter_column("psa_id", type_=sa.String(length=64), existing_type=sa.String(length=250),
                           existing_nullable=False)
        batch.alter_column("fingerprint", type_=sa.String(length=64), existing_type=sa.Text(), existing_nullable=False)
