"""Indexes in the lists' order: receivable (due_date, id), payment (received_on, id)

The receivable list sorts by due date with the id as tie-break. With an index on due_date alone,
PostgreSQL sorted the whole table for a deep page (17.6 MB spilled to disk at 1M rows, 383 ms
at offset 800k); an index in the same order lets it walk the index (issue 13). The single-
column indexes these replace are dropped: the composite ones serve every range they served.

Revision ID: w2perf0001
Revises: w2schema0001
Create Date: 2026-11-30 14:31:00
"""
from alembic import op


revision = 'w2perf0001'
down_revision = 'w2schema0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_receivable_due_id', 'receivable', ['due_date', 'id'])
    op.drop_index('ix_receivable_due_date', table_name='receivable')
    op.create_index('ix_payment_received_id', 'payment', ['received_on', 'id'])
    op.drop_index('ix_payment_received_on', table_name='payment')


def downgrade():
    op.create_index('ix_payment_received_on', 'payment', ['received_on'])
    op.drop_index('ix_payment_received_id', table_name='payment')
    op.create_index('ix_receivable_due_date', 'receivable', ['due_date'])
    op.drop_index('ix_receivable_due_id', table_name='receivable')
