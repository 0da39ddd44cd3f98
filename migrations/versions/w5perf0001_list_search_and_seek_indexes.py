"""Indexes for the list's customer search and ERP-code look-up (issue 13)

- ``receivable (customer_id, due_date, id)`` replaces ``(customer_id, due_date)``: a search by
  part of a customer's name selects the matching customers' documents with their position in
  the list's order (due date, id); with ``id`` in the index, PostgreSQL reads them from the
  index alone (an index-only scan) instead of fetching each row from the table. The old index
  is its prefix, so every query that used it can use the new one.
- ``customer (erp_code)``: the search box also matches an ERP code exactly; the unique
  ``(company_id, erp_code)`` index cannot be entered by the code alone.

Plain CREATE/DROP INDEX (no batch mode): the tables are not rebuilt, so the SQLite trigram
triggers of ``w4perf0001`` stay.

Revision ID: w5perf_0001
Revises: w5i11_0001
Create Date: 2026-11-30 21:30:00
"""
from alembic import op


revision = 'w5perf_0001'
down_revision = 'w5i11_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_receivable_customer_due_id', 'receivable', ['customer_id', 'due_date', 'id'],
        unique=False,
    )
    op.drop_index('ix_receivable_customer_due', table_name='receivable')
    op.create_index('ix_customer_erp_code', 'customer', ['erp_code'], unique=False)


def downgrade():
    op.drop_index('ix_customer_erp_code', table_name='customer')
    op.create_index(
        'ix_receivable_customer_due', 'receivable', ['customer_id', 'due_date'], unique=False
    )
    op.drop_index('ix_receivable_customer_due_id', table_name='receivable')
