"""statements kept for voiding after retention; the student an instructor audit entry is about

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.models


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('delivered_statements',
    sa.Column('statement_id', sa.String(length=64), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=True),
    sa.Column('delivered_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_delivered_statements_learner_id_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('statement_id', name=op.f('pk_delivered_statements'))
    )
    with op.batch_alter_table('delivered_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivered_statements_learner_id'), ['learner_id'], unique=False)

    with op.batch_alter_table('instructor_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_learner_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_instructor_audit_subject_learner_id'), ['subject_learner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_instructor_audit_subject_learner_id_learners'), 'learners', ['subject_learner_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('instructor_audit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_instructor_audit_subject_learner_id_learners'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_instructor_audit_subject_learner_id'))
        batch_op.drop_column('subject_learner_id')

    with op.batch_alter_table('delivered_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivered_statements_learner_id'))

    op.drop_table('delivered_statements')
