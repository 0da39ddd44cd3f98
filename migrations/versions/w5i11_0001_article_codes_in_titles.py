"""Task and inbox titles name their article the Chinese way (第二十五条), also in old rows

Before issue 12's wording, a write-off's accountability task and message were titled
"HX2026-00001 责任认定（个人或单位责任，Art.25）". The code writes 第二十五条 now; this rewrites
the titles already stored, so no raw article code is left on a user's screen (issue 11).
Data only; the downgrade leaves the titles as they are.

Revision ID: w5i11_0001
Revises: w5confirm2_0001
Create Date: 2026-11-30 21:40:00
"""
from alembic import op
from sqlalchemy import text

revision = 'w5i11_0001'
down_revision = 'w5confirm2_0001'
branch_labels = None
depends_on = None

OLD = '（个人或单位责任，Art.25）'
NEW = '（个人或单位责任，第二十五条）'


def upgrade():
    for table in ('task', 'notification'):
        op.get_bind().execute(
            text(f"UPDATE {table} SET title = replace(title, :old, :new) WHERE title LIKE :like"),  # noqa: S608 - two fixed names
            {'old': OLD, 'new': NEW, 'like': '%Art.25%'},
        )


def downgrade():
    pass
