"""several manage links per booking, the speaker's language, notices apart from announcements

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('booking_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_tokens_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_booking_tokens_token_hash'))
    )
    with op.batch_alter_table('booking_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_tokens_booking_id'), ['booking_id'], unique=False)

    op.execute("INSERT INTO booking_tokens (booking_id, token_hash, created_at) "
               "SELECT id, token_hash, created_at FROM bookings")

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('notice_post_ids', sa.JSON(), server_default='[]', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_bookings_token_hash'), type_='unique')
        batch_op.drop_column('token_hash')


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))

    # A booking keeps its first link; the links added later are lost with the table.
    op.execute("UPDATE bookings SET token_hash = (SELECT t.token_hash FROM booking_tokens t "
               "WHERE t.booking_id = bookings.id ORDER BY t.id LIMIT 1)")
    op.execute("UPDATE bookings SET token_hash = lpad(CAST(id AS TEXT), 64, '0') WHERE token_hash IS NULL"
               if op.get_bind().dialect.name == 'postgresql' else
               "UPDATE bookings SET token_hash = printf('%064d', id) WHERE token_hash IS NULL")

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.alter_column('token_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_bookings_token_hash'), ['token_hash'])
        batch_op.drop_column('notice_post_ids')
        batch_op.drop_column('locale')

    with op.batch_alter_table('booking_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_tokens_booking_id'))

    op.drop_table('booking_tokens')
