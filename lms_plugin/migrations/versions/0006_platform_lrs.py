"""a platform's own Learning Record Store and xAPI e-mail choice

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('platforms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lrs_endpoint', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('lrs_username', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('lrs_password', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('xapi_actor_email', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('platforms', schema=None) as batch_op:
        batch_op.drop_column('xapi_actor_email')
        batch_op.drop_column('lrs_password')
        batch_op.drop_column('lrs_username')
        batch_op.drop_column('lrs_endpoint')
