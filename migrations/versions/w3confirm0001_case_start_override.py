"""collection_case.started_at and start_override_reason (Art.17)

开始清收 while documents of the Art.17 checklist are missing needs an explicit override with a
reason (issue 11); the case keeps when work started and that reason.

Revision ID: w3confirm0001
Revises: w2tamper0001
Create Date: 2026-11-30 15:20:00
"""
from alembic import op
import sqlalchemy as sa

import backoffice.models.base


revision = 'w3confirm0001'
down_revision = 'w2tamper0001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('collection_case', sa.Column(
        'started_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=True
    ))
    op.add_column('collection_case', sa.Column('start_override_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('collection_case') as batch:
        batch.drop_column('start_override_reason')
        batch.drop_column('started_at')
