"""LTI platforms, deployments, keys, logins, placements, sessions; emulator keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.models


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('emulator_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_emulator_keys'))
    )
    op.create_table('platforms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('auth_login_url', sa.String(length=1024), nullable=False),
    sa.Column('auth_token_url', sa.String(length=1024), nullable=False),
    sa.Column('key_set_url', sa.String(length=1024), nullable=False),
    sa.Column('jwks', sa.JSON(), nullable=True),
    sa.Column('jwks_fetched_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('jwks_expires_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platforms')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_platforms_issuer'))
    )
    op.create_table('tool_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_until', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_tool_keys'))
    )
    op.create_table('deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['platforms.id'], name=op.f('fk_deployments_platform_id_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployments')),
    sa.UniqueConstraint('platform_id', 'deployment_id', name=op.f('uq_deployments_platform_id'))
    )
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployments_platform_id'), ['platform_id'], unique=False)

    op.create_table('oidc_logins',
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('target_link_uri', sa.String(length=2048), nullable=False),
    sa.Column('storage_target', sa.String(length=255), nullable=True),
    sa.Column('new_window', sa.Boolean(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state_check', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['platform_id'], ['platforms.id'], name=op.f('fk_oidc_logins_platform_id_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_oidc_logins')),
    sa.UniqueConstraint('nonce', name=op.f('uq_oidc_logins_nonce'))
    )
    op.create_table('placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=True),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_placements_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements')),
    sa.UniqueConstraint('course_id', 'resource_link_id', name=op.f('uq_placements_course_id'))
    )
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placements_course_id'), ['course_id'], unique=False)

    op.create_table('launch_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_launch_sessions_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_launch_sessions_learner_id_learners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], name=op.f('fk_launch_sessions_placement_id_placements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['module_records.id'], name=op.f('fk_launch_sessions_record_id_module_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_launch_sessions'))
    )
    with op.batch_alter_table('launch_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_launch_sessions_learner_id'), ['learner_id'], unique=False)

    op.create_table('url_tickets',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=64), nullable=False),
    sa.Column('expires_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_url_tickets_learner_id_learners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['launch_sessions.id'], name=op.f('fk_url_tickets_session_id_launch_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_url_tickets'))
    )
    with op.batch_alter_table('url_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_url_tickets_learner_id'), ['learner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('url_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_url_tickets_learner_id'))

    op.drop_table('url_tickets')
    with op.batch_alter_table('launch_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_launch_sessions_learner_id'))

    op.drop_table('launch_sessions')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placements_course_id'))

    op.drop_table('placements')
    op.drop_table('oidc_logins')
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployments_platform_id'))

    op.drop_table('deployments')
    op.drop_table('tool_keys')
    op.drop_table('platforms')
    op.drop_table('emulator_keys')
