"""sales_unit.vp_id references user.id on PostgreSQL too

The initial migration declared this foreign key with ``use_alter`` inside ``create_table``;
Alembic leaves such a key out of CREATE TABLE on PostgreSQL and nothing added it afterwards, so
a unit could name a VP who does not exist. SQLite created it inline. Found by
``tests/test_migrations.py::test_migrations_build_exactly_the_models_schema``.

Revision ID: w2schema0001
Revises: 1a091b68d998
Create Date: 2026-11-30 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'w2schema0001'
down_revision = '1a091b68d998'
branch_labels = None
depends_on = None

NAME = 'fk_sales_unit_vp_id_user'


def _has_key(bind) -> bool:
    return any(fk['name'] == NAME for fk in sa.inspect(bind).get_foreign_keys('sales_unit'))


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' and not _has_key(bind):
        # A unit whose VP was deleted keeps no dangling reference.
        op.execute('UPDATE sales_unit SET vp_id = NULL WHERE vp_id NOT IN (SELECT id FROM "user")')
        op.create_foreign_key(NAME, 'sales_unit', 'user', ['vp_id'], ['id'])


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' and _has_key(bind):
        op.drop_constraint(NAME, 'sales_unit', type_='foreignkey')
