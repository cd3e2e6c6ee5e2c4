"""outbox, worker leases, AGS endpoints on placements, emulator gradebook

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.models


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('emulator_line_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('context_id', sa.String(length=255), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=True),
    sa.Column('resource_id', sa.String(length=255), nullable=True),
    sa.Column('tag', sa.String(length=255), nullable=True),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emulator_line_items'))
    )
    op.create_table('worker_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('expires_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_leases'))
    )
    op.create_table('emulator_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('score_given', sa.Float(), nullable=True),
    sa.Column('score_maximum', sa.Float(), nullable=True),
    sa.Column('activity_progress', sa.String(length=32), nullable=False),
    sa.Column('grading_progress', sa.String(length=32), nullable=False),
    sa.Column('timestamp', sa.String(length=64), nullable=False),
    sa.Column('received_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_item_id'], ['emulator_line_items.id'], name=op.f('fk_emulator_scores_line_item_id_emulator_line_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emulator_scores'))
    )
    with op.batch_alter_table('emulator_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emulator_scores_line_item_id'), ['line_item_id'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('ordering_key', sa.String(length=512), nullable=False),
    sa.Column('destination', sa.JSON(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_outbox_messages_learner_id_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_messages_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_ordering_key'), ['ordering_key'], unique=False)

    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platform_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ags_scopes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ags_lineitems_url', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('ags_lineitem_url', sa.String(length=2048), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_placements_platform_id_platforms'), 'platforms', ['platform_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_placements_platform_id_platforms'), type_='foreignkey')
        batch_op.drop_column('ags_lineitem_url')
        batch_op.drop_column('ags_lineitems_url')
        batch_op.drop_column('ags_scopes')
        batch_op.drop_column('platform_id')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_ordering_key'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_learner_id'))
        batch_op.drop_index('ix_outbox_messages_due')

    op.drop_table('outbox_messages')
    with op.batch_alter_table('emulator_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emulator_scores_line_item_id'))

    op.drop_table('emulator_scores')
    op.drop_table('worker_leases')
    op.drop_table('emulator_line_items')
