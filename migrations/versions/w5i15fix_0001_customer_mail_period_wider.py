"""The customer e-mail send log's period holds a confirmation sending's key (issue 15)

A balance confirmation e-mail is logged once per sending: its period is the request number
and the link sent (``XZ2026-00001/17``), longer than the 16 characters a month or a day
needed. Widened to 40.

Revision ID: w5i15fix_0001
Revises: w5i12_0001
Create Date: 2026-11-30 22:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'w5i15fix_0001'
down_revision = 'w5i12_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer_mail', schema=None) as batch_op:
        batch_op.alter_column(
            'period', existing_type=sa.String(length=16), type_=sa.String(length=40),
            existing_nullable=False,
        )


def downgrade():
    # The confirmation sendings' longer keys do not fit the old width: those rows go.
    op.execute("DELETE FROM customer_mail WHERE length(period) > 16")
    with op.batch_alter_table('customer_mail', schema=None) as batch_op:
        batch_op.alter_column(
            'period', existing_type=sa.String(length=40), type_=sa.String(length=16),
            existing_nullable=False,
        )
