"""roster, placement settings, grants, audits, admin accounts, registration links, deep-linked emulator placements

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.models


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('admin_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('session_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_admin_accounts_username'))
    )
    op.create_table('admin_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admin_username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_audit'))
    )
    with op.batch_alter_table('admin_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_audit_admin_username'), ['admin_username'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_audit_at'), ['at'], unique=False)

    op.create_table('admin_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_login_failures'))
    )
    with op.batch_alter_table('admin_login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_login_failures_at'), ['at'], unique=False)
        batch_op.create_index('ix_admin_login_failures_remote_addr_at', ['remote_addr', 'at'], unique=False)

    op.create_table('emulator_tool_registrations',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('deployment_id', sa.String(length=64), nullable=False),
    sa.Column('token_id', sa.String(length=64), nullable=False),
    sa.Column('client_metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_emulator_tool_registrations')),
    sa.UniqueConstraint('token_id', name=op.f('uq_emulator_tool_registrations_token_id'))
    )
    op.create_table('emulator_placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('deep_link_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('line_item_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_item_id'], ['emulator_line_items.id'], name=op.f('fk_emulator_placements_line_item_id_emulator_line_items'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emulator_placements')),
    sa.UniqueConstraint('resource_link_id', name=op.f('uq_emulator_placements_resource_link_id'))
    )
    with op.batch_alter_table('emulator_placements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emulator_placements_deep_link_id'), ['deep_link_id'], unique=False)

    op.create_table('registration_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('platform_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['platform_id'], ['platforms.id'], name=op.f('fk_registration_links_platform_id_platforms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_registration_links'))
    )
    op.create_table('instructor_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_instructor_audit_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instructor_audit'))
    )
    with op.batch_alter_table('instructor_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instructor_audit_course_id'), ['course_id'], unique=False)

    op.create_table('roster_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_roster_members_course_id_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_members')),
    sa.UniqueConstraint('course_id', 'user_id', name=op.f('uq_roster_members_course_id'))
    )
    with op.batch_alter_table('roster_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_members_course_id'), ['course_id'], unique=False)

    op.create_table('attempt_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('extra', sa.Integer(), nullable=False),
    sa.Column('granted_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_attempt_grants_learner_id_learners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['module_records.id'], name=op.f('fk_attempt_grants_record_id_module_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_grants'))
    )
    with op.batch_alter_table('attempt_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_grants_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempt_grants_record_id'), ['record_id'], unique=False)

    op.create_table('placement_settings',
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('test_attempts', sa.Integer(), nullable=True),
    sa.Column('show_correct_answers', sa.String(length=32), nullable=True),
    sa.Column('score_policy', sa.String(length=16), nullable=True),
    sa.Column('updated_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['placement_id'], ['placements.id'], name=op.f('fk_placement_settings_placement_id_placements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('placement_id', name=op.f('pk_placement_settings'))
    )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nrps_url', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('platform_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('roster_fetched_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_courses_platform_id_platforms'), 'platforms', ['platform_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_courses_platform_id_platforms'), type_='foreignkey')
        batch_op.drop_column('roster_fetched_at')
        batch_op.drop_column('platform_id')
        batch_op.drop_column('nrps_url')

    op.drop_table('placement_settings')
    with op.batch_alter_table('attempt_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_grants_record_id'))
        batch_op.drop_index(batch_op.f('ix_attempt_grants_learner_id'))

    op.drop_table('attempt_grants')
    with op.batch_alter_table('roster_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_members_course_id'))

    op.drop_table('roster_members')
    with op.batch_alter_table('instructor_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instructor_audit_course_id'))

    op.drop_table('instructor_audit')
    op.drop_table('registration_links')
    with op.batch_alter_table('emulator_placements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emulator_placements_deep_link_id'))

    op.drop_table('emulator_placements')
    op.drop_table('emulator_tool_registrations')
    with op.batch_alter_table('admin_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_login_failures_remote_addr_at')
        batch_op.drop_index(batch_op.f('ix_admin_login_failures_at'))

    op.drop_table('admin_login_failures')
    with op.batch_alter_table('admin_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_audit_at'))
        batch_op.drop_index(batch_op.f('ix_admin_audit_admin_username'))

    op.drop_table('admin_audit')
    op.drop_table('admin_accounts')
