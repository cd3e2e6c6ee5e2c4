"""certificates, their signing keys, maintenance runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.models


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('credential_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_credential_keys'))
    )
    op.create_table('maintenance_runs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_run_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_maintenance_runs'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=True),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('module_id', sa.String(length=64), nullable=False),
    sa.Column('attempt_id', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=255), nullable=True),
    sa.Column('module_title', sa.String(length=255), nullable=False),
    sa.Column('issuer_name', sa.String(length=255), nullable=False),
    sa.Column('score_correct', sa.Integer(), nullable=False),
    sa.Column('score_total', sa.Integer(), nullable=False),
    sa.Column('issued_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('credential_jwt', sa.Text(), nullable=True),
    sa.Column('credential_sha256', sa.String(length=64), nullable=True),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('pdf_path', sa.String(length=255), nullable=True),
    sa.Column('pdf_rendered_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('superseded_by', sa.String(length=32), nullable=True),
    sa.Column('revoked_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.Column('revoked_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_certificates_course_id_courses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_certificates_learner_id_learners'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('learner_id', 'course_id', 'module_id', 'version', name=op.f('uq_certificates_learner_id'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_learner_id'), ['learner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_learner_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_course_id'))

    op.drop_table('certificates')
    op.drop_table('maintenance_runs')
    op.drop_table('credential_keys')
