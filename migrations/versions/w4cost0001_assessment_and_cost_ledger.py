"""Assessment (Art.26(4), 27–30) and the cost ledger's bonuses (Art.8)

- ``target``: a member's own base (``user_id``), the leadership's approval (Art.28) and a
  check that the period is ``YYYY`` or ``YYYY-MM``. Targets typed in before were entered by the
  leadership itself: the valid ones are kept and marked approved; a period in a recognisable
  form (``2026-1``, ``2026/01``, ``202601``) is rewritten as ``YYYY-MM``; one that means no
  period (``abcd``) can count toward nothing and is removed, and named in the migration's log.
- ``assessment_policy``, ``debt_grade``, ``scorecard``, ``scorecard_line``: new tables.
- ``case_cost.scorecard_line_id``: a bonus booked from an approved scorecard, once per line and
  case.

Revision ID: w4cost0001
Revises: w4api0001
Create Date: 2026-11-30 17:30:00
"""
import logging
import re

from alembic import op
import sqlalchemy as sa

import backoffice.models.base
from backoffice.models.setting import PERIOD_CHECK


revision = 'w4cost0001'
down_revision = 'w4api0001'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
_MONTH = re.compile(r'^\s*(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?\s*$')
_YEAR = re.compile(r'^\s*(\d{4})\s*年?\s*$')


def _normal(period: str) -> str | None:
    """The period as YYYY or YYYY-MM, or None if it names no period."""
    if m := _YEAR.match(period or ''):
        return m.group(1)
    if (m := _MONTH.match(period or '')) and 1 <= int(m.group(2)) <= 12:
        return f'{m.group(1)}-{int(m.group(2)):02d}'
    return None


def _mend_periods(bind) -> None:
    target = sa.table('target', sa.column('id'), sa.column('period'))
    for row_id, period in bind.execute(sa.select(target.c.id, target.c.period)).all():
        normal = _normal(period)
        if normal == period:
            continue
        if normal is None:
            log.warning('target %s: period %r names no year or month; removed', row_id, period)
            bind.execute(sa.delete(target).where(target.c.id == row_id))
        else:
            log.warning('target %s: period %r rewritten as %s', row_id, period, normal)
            bind.execute(sa.update(target).where(target.c.id == row_id).values(period=normal))


def upgrade():
    op.create_table(
        'assessment_policy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('weight_standard', backoffice.models.base.Rate(), nullable=False),
        sa.Column('weight_hard', backoffice.models.base.Rate(), nullable=False),
        sa.Column('weight_very_hard', backoffice.models.base.Rate(), nullable=False),
        sa.Column('hard_after_months', sa.Integer(), nullable=False),
        sa.Column('very_hard_after_months', sa.Integer(), nullable=False),
        sa.Column('reward_rate', backoffice.models.base.Rate(), nullable=False),
        sa.Column('penalty_floor', backoffice.models.base.Rate(), nullable=False),
        sa.Column('penalty_rate', backoffice.models.base.Rate(), nullable=False),
        sa.Column('status', sa.Enum('proposed', 'approved', name='approvalstate', native_enum=False, length=32), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_assessment_policy_approved_by_id_user')),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_assessment_policy_company_id_company')),
        sa.ForeignKeyConstraint(['set_by_id'], ['user.id'], name=op.f('fk_assessment_policy_set_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_policy')),
        sa.UniqueConstraint('company_id', 'year', name=op.f('uq_assessment_policy_company_id_year')),
    )
    op.create_table(
        'debt_grade',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('age_months', sa.Integer(), nullable=False),
        sa.Column('financial_status', sa.String(length=32), nullable=False),
        sa.Column('litigated', sa.Boolean(), nullable=False),
        sa.Column('proposed', sa.Enum('standard', 'hard', 'very_hard', name='difficultygrade', native_enum=False, length=32), nullable=False),
        sa.Column('grade', sa.Enum('standard', 'hard', 'very_hard', name='difficultygrade', native_enum=False, length=32), nullable=False),
        sa.Column('override_reason', sa.Text(), nullable=True),
        sa.Column('graded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('sales_unit_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['collection_case.id'], name=op.f('fk_debt_grade_case_id_collection_case')),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_debt_grade_company_id_company')),
        sa.ForeignKeyConstraint(['graded_by_id'], ['user.id'], name=op.f('fk_debt_grade_graded_by_id_user')),
        sa.ForeignKeyConstraint(['sales_unit_id'], ['sales_unit.id'], name=op.f('fk_debt_grade_sales_unit_id_sales_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_debt_grade')),
        sa.UniqueConstraint('case_id', name=op.f('uq_debt_grade_case_id')),
    )
    op.create_index(op.f('ix_debt_grade_company_id'), 'debt_grade', ['company_id'], unique=False)
    op.create_index(op.f('ix_debt_grade_sales_unit_id'), 'debt_grade', ['sales_unit_id'], unique=False)
    op.create_table(
        'scorecard',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('proposed', 'amended', 'approved', name='scorecardstatus', native_enum=False, length=32), nullable=False),
        sa.Column('computed_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('amended_by_id', sa.Integer(), nullable=True),
        sa.Column('amended_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['amended_by_id'], ['user.id'], name=op.f('fk_scorecard_amended_by_id_user')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_scorecard_approved_by_id_user')),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_scorecard_company_id_company')),
        sa.ForeignKeyConstraint(['policy_id'], ['assessment_policy.id'], name=op.f('fk_scorecard_policy_id_assessment_policy')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard')),
        sa.UniqueConstraint('company_id', 'period', name=op.f('uq_scorecard_company_id_period')),
    )
    op.create_table(
        'scorecard_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scorecard_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('base', backoffice.models.base.Money(), nullable=True),
        sa.Column('collected', backoffice.models.base.Money(), nullable=False),
        sa.Column('weighted', backoffice.models.base.Money(), nullable=False),
        sa.Column('achievement', backoffice.models.base.Rate(), nullable=True),
        sa.Column('excess', backoffice.models.base.Money(), nullable=False),
        sa.Column('proposed', backoffice.models.base.Money(), nullable=False),
        sa.Column('amount', backoffice.models.base.Money(), nullable=False),
        sa.ForeignKeyConstraint(['scorecard_id'], ['scorecard.id'], name=op.f('fk_scorecard_line_scorecard_id_scorecard')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_scorecard_line_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_line')),
    )
    op.create_index(op.f('ix_scorecard_line_scorecard_id'), 'scorecard_line', ['scorecard_id'], unique=False)

    with op.batch_alter_table('case_cost') as batch:
        batch.add_column(sa.Column('scorecard_line_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_case_cost_scorecard_line_id_scorecard_line'), 'scorecard_line',
            ['scorecard_line_id'], ['id'],
        )
    op.create_index('uq_case_cost_bonus', 'case_cost', ['scorecard_line_id', 'case_id'], unique=True)

    bind = op.get_bind()
    _mend_periods(bind)
    with op.batch_alter_table('target') as batch:
        batch.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        # Existing bases were entered by the leadership group itself (only it could): approved.
        batch.add_column(sa.Column(
            'status', sa.Enum('proposed', 'approved', name='approvalstate', native_enum=False, length=32),
            nullable=False, server_default='approved',
        ))
        batch.add_column(sa.Column('proposed_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('approved_at', backoffice.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f('fk_target_user_id_user'), 'user', ['user_id'], ['id'])
        batch.create_foreign_key(op.f('fk_target_proposed_by_id_user'), 'user', ['proposed_by_id'], ['id'])
        batch.create_foreign_key(op.f('fk_target_approved_by_id_user'), 'user', ['approved_by_id'], ['id'])
        batch.create_index(op.f('ix_target_user_id'), ['user_id'], unique=False)
        batch.create_check_constraint(op.f('ck_target_period_format'), sa.text(PERIOD_CHECK))
    with op.batch_alter_table('target') as batch:
        batch.alter_column('status', server_default=None)


def downgrade():
    with op.batch_alter_table('target') as batch:
        batch.drop_constraint(op.f('ck_target_period_format'), type_='check')
        batch.drop_index(op.f('ix_target_user_id'))
        batch.drop_constraint(op.f('fk_target_approved_by_id_user'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_target_proposed_by_id_user'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_target_user_id_user'), type_='foreignkey')
        for column in ('approved_at', 'approved_by_id', 'proposed_by_id', 'status', 'user_id'):
            batch.drop_column(column)
    op.drop_index('uq_case_cost_bonus', table_name='case_cost')
    with op.batch_alter_table('case_cost') as batch:
        batch.drop_constraint(op.f('fk_case_cost_scorecard_line_id_scorecard_line'), type_='foreignkey')
        batch.drop_column('scorecard_line_id')
    op.drop_index(op.f('ix_scorecard_line_scorecard_id'), table_name='scorecard_line')
    op.drop_table('scorecard_line')
    op.drop_table('scorecard')
    op.drop_index(op.f('ix_debt_grade_sales_unit_id'), table_name='debt_grade')
    op.drop_index(op.f('ix_debt_grade_company_id'), table_name='debt_grade')
    op.drop_table('debt_grade')
    op.drop_table('assessment_policy')
