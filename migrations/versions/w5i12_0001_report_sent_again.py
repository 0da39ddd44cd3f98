"""Art.12: a unit's monthly report can be sent again, each sending recorded

``report_dispatch.sending_no``: 1 for the sending made with the report (every existing row),
2, 3… for each "send again" by finance or an admin. The unique key becomes (report,
recipient, sending), so the monthly job still sends nothing twice within a sending.

Revision ID: w5i12_0001
Revises: w5perf_0001
Create Date: 2026-11-30 21:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'w5i12_0001'
down_revision = 'w5perf_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_dispatch', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('sending_no', sa.Integer(), server_default='1', nullable=False)
        )
        batch_op.drop_constraint('uq_report_dispatch_report_id_recipient', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_report_dispatch_report_id_recipient_sending_no'),
            ['report_id', 'recipient', 'sending_no'],
        )


def downgrade():
    # Keep the first sending of each recipient: the old key allows one row per recipient.
    op.execute("DELETE FROM report_dispatch WHERE sending_no > 1")
    with op.batch_alter_table('report_dispatch', schema=None) as batch_op:
        batch_op.drop_constraint(
            'uq_report_dispatch_report_id_recipient_sending_no', type_='unique'
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_report_dispatch_report_id_recipient'), ['report_id', 'recipient']
        )
        batch_op.drop_column('sending_no')
