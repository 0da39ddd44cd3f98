"""The balance confirmation replies in the year's archive package (issue 15)

Revision ID: w5confirm2_0001
Revises: w5confirm0001
Create Date: 2026-11-30 21:40:00

"""
from alembic import op
import sqlalchemy as sa

import backoffice.models.base


# revision identifiers, used by Alembic.
revision = 'w5confirm2_0001'
down_revision = 'w5confirm0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('balance_confirmation_archive',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('archive_no', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('sealed_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('manifest', sa.JSON(), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('manifest_key_id', sa.String(length=16), nullable=False),
    sa.Column('manifest_sig', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_balance_confirmation_archive')),
    sa.UniqueConstraint('archive_no', name=op.f('uq_balance_confirmation_archive_archive_no'))
    )
    with op.batch_alter_table('balance_confirmation_archive', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_balance_confirmation_archive_year'), ['year'], unique=False)


def downgrade():
    with op.batch_alter_table('balance_confirmation_archive', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_balance_confirmation_archive_year'))
    op.drop_table('balance_confirmation_archive')
