"""Matchmaking sessions: sessions, their meetings and the participants' availability

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:27:30.163019

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('matchmaking_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('theme', sa.Text(), nullable=True),
    sa.Column('policy_areas', sa.JSON(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('tables', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('public_summary', sa.Text(), nullable=True),
    sa.Column('agenda_built_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_matchmaking_sessions_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matchmaking_sessions'))
    )
    with op.batch_alter_table('matchmaking_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matchmaking_sessions_status'), ['status'], unique=False)

    op.create_table('session_availability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('rounds', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['matchmaking_sessions.id'],
                            name=op.f('fk_session_availability_session_id_matchmaking_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_availability_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_availability')),
    sa.UniqueConstraint('session_id', 'user_id', name='uq_session_availability_session_user')
    )
    with op.batch_alter_table('session_availability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_availability_session_id'), ['session_id'], unique=False)

    op.create_table('session_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=True),
    sa.Column('table_no', sa.Integer(), nullable=True),
    sa.Column('unplaced_reason', sa.String(length=30), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_session_meetings_invited_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['match_id'], ['matches.id'], name=op.f('fk_session_meetings_match_id_matches'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['matchmaking_sessions.id'],
                            name=op.f('fk_session_meetings_session_id_matchmaking_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_meetings')),
    sa.UniqueConstraint('session_id', 'match_id', name='uq_session_meetings_session_match'),
    sa.UniqueConstraint('session_id', 'round', 'table_no', name='uq_session_meetings_slot')
    )
    with op.batch_alter_table('session_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_meetings_match_id'), ['match_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_meetings_session_id'), ['session_id'], unique=False)



def downgrade():
    with op.batch_alter_table('session_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_meetings_session_id'))
        batch_op.drop_index(batch_op.f('ix_session_meetings_match_id'))

    op.drop_table('session_meetings')
    with op.batch_alter_table('session_availability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_availability_session_id'))

    op.drop_table('session_availability')
    with op.batch_alter_table('matchmaking_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matchmaking_sessions_status'))

    op.drop_table('matchmaking_sessions')
