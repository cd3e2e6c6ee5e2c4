"""lab attempts, exchanges and their span trees; the trace context of outbox messages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lms_plugin.models


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lab_attempts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_lab_attempts_learner_id_learners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['module_records.id'], name=op.f('fk_lab_attempts_record_id_module_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_attempts')),
    sa.UniqueConstraint('record_id', 'lab_id', name=op.f('uq_lab_attempts_record_id'))
    )
    with op.batch_alter_table('lab_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_attempts_learner_id'), ['learner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_attempts_record_id'), ['record_id'], unique=False)

    op.create_table('lab_exchanges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('learner_message', sa.Text(), nullable=False),
    sa.Column('assistant_reply', sa.Text(), nullable=True),
    sa.Column('sent_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replied_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('scenario_id', sa.String(length=64), nullable=True),
    sa.Column('rubric_hits', sa.JSON(), nullable=False),
    sa.Column('substantive', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=255), nullable=True),
    sa.Column('provider', sa.String(length=64), nullable=True),
    sa.Column('response_model', sa.String(length=128), nullable=True),
    sa.Column('response_id', sa.String(length=255), nullable=True),
    sa.Column('finish_reason', sa.String(length=32), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('first_chunk_ms', sa.Float(), nullable=True),
    sa.Column('fallback_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['lab_attempts.id'], name=op.f('fk_lab_exchanges_attempt_id_lab_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_lab_exchanges_learner_id_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_exchanges')),
    sa.UniqueConstraint('attempt_id', 'number', name=op.f('uq_lab_exchanges_attempt_id'))
    )
    with op.batch_alter_table('lab_exchanges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_exchanges_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_exchanges_learner_id'), ['learner_id'], unique=False)

    op.create_table('lab_traces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('exchange_id', sa.Integer(), nullable=False),
    sa.Column('trace_id', sa.String(length=32), nullable=False),
    sa.Column('tree', sa.JSON(), nullable=False),
    sa.Column('created_at', lms_plugin.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['exchange_id'], ['lab_exchanges.id'], name=op.f('fk_lab_traces_exchange_id_lab_exchanges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_lab_traces_learner_id_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_traces')),
    sa.UniqueConstraint('exchange_id', name=op.f('uq_lab_traces_exchange_id'))
    )
    with op.batch_alter_table('lab_traces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_traces_learner_id'), ['learner_id'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trace_context', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('trace_context')

    with op.batch_alter_table('lab_traces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_traces_learner_id'))

    op.drop_table('lab_traces')
    with op.batch_alter_table('lab_exchanges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_exchanges_learner_id'))
        batch_op.drop_index(batch_op.f('ix_lab_exchanges_attempt_id'))

    op.drop_table('lab_exchanges')
    with op.batch_alter_table('lab_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_attempts_record_id'))
        batch_op.drop_index(batch_op.f('ix_lab_attempts_learner_id'))

    op.drop_table('lab_attempts')
