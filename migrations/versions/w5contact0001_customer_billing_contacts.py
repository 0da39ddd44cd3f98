"""Customers' billing contacts and the "do not e-mail" exclusion (issues 14 §2 and 15)

Revision ID: w5contact0001
Revises: w4perf0001
Create Date: 2026-11-30 21:10:00
"""
import sqlalchemy as sa

import backoffice.models.base
from alembic import op

revision = 'w5contact0001'
down_revision = 'w4perf0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'customer_contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_contact_customer_id_customer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_contact')),
        sa.UniqueConstraint('customer_id', 'email', name=op.f('uq_customer_contact_customer_id_email')),
    )
    op.create_index(op.f('ix_customer_contact_customer_id'), 'customer_contact', ['customer_id'], unique=False)
    op.create_table(
        'customer_mail_opt_out',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_mail_opt_out_customer_id_customer')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_customer_mail_opt_out_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_mail_opt_out')),
        sa.UniqueConstraint('customer_id', name=op.f('uq_customer_mail_opt_out_customer_id')),
    )


def downgrade():
    op.drop_table('customer_mail_opt_out')
    op.drop_index(op.f('ix_customer_contact_customer_id'), table_name='customer_contact')
    op.drop_table('customer_contact')
