"""keyed audit chain and signed archive manifests (issue 10)

Adds the signing key id to every audit entry (NULL for the entries hashed before: they keep
verifying as plain SHA-256 before the first keyed entry) and the version, record fields,
checkpoint and signature of archive manifests (existing archives become version 1).

Revision ID: w2tamper0001
Revises: w2perf0001
Create Date: 2026-11-30 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "w2tamper0001"
down_revision = "w2perf0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_log", sa.Column("key_id", sa.String(length=16), nullable=True))
    op.add_column(
        "archive_record",
        sa.Column("manifest_version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column("archive_record", sa.Column("manifest", sa.JSON(), nullable=True))
    op.add_column(
        "archive_record", sa.Column("manifest_key_id", sa.String(length=16), nullable=True)
    )
    op.add_column("archive_record", sa.Column("manifest_sig", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("archive_record") as batch:
        batch.drop_column("manifest_sig")
        batch.drop_column("manifest_key_id")
        batch.drop_column("manifest")
        batch.drop_column("manifest_version")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("key_id")
