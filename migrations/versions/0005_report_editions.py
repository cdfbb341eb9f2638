"""Report editions; members' languages and other names (non-attribution, issue 17)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('other_names', sa.JSON(), nullable=False, server_default='[]'))

    op.create_table('report_editions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('private', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_report_editions_published_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_editions')),
    sa.UniqueConstraint('number', name=op.f('uq_report_editions_number'))
    )


def downgrade():
    op.drop_table('report_editions')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): recreating the members table would break the foreign
    # keys of every table that refers to it.
    with op.batch_alter_table('members', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('other_names')
        batch_op.drop_column('languages')
