"""recurring series

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 13:38:03.175408
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('rrule', sa.String(length=500), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.Column('pool', sa.JSON(), nullable=False),
    sa.Column('expires_after_minutes', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_occurrence_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_series_approved_by_id_users')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_series_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series'))
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_next_occurrence_at'), ['next_occurrence_at'], unique=False)

    op.create_table('series_channels',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_series_channels_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_series_channels_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'channel_id', name=op.f('pk_series_channels'))
    )
    op.create_table('series_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_series_tags_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series_tags')),
    sa.UniqueConstraint('series_id', 'tag', name=op.f('uq_series_tags_series_id'))
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('occurrence_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('detached', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_posts_series_id'), ['series_id', 'occurrence_at'])
        batch_op.create_foreign_key(batch_op.f('fk_posts_series_id_series'), 'series', ['series_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_posts_series_id_series'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_posts_series_id'), type_='unique')
        batch_op.drop_column('detached')
        batch_op.drop_column('occurrence_at')
        batch_op.drop_column('series_id')

    op.drop_table('series_tags')
    op.drop_table('series_channels')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_next_occurrence_at'))

    op.drop_table('series')
