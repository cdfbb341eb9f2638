"""Proposals remember their inputs; matching runs record what they kept and what changed, and why

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('matches') as batch:
        batch.add_column(sa.Column('inputs', sa.JSON(), nullable=True))
    with op.batch_alter_table('matching_runs') as batch:
        batch.add_column(sa.Column('kept', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('changes', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('matching_runs') as batch:
        batch.drop_column('changes')
        batch.drop_column('kept')
    with op.batch_alter_table('matches') as batch:
        batch.drop_column('inputs')
