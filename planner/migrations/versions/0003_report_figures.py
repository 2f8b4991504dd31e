"""what reports need: the submission a review answers, indexes on delivery times

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_reviews_created_at'), ['created_at'], unique=False)
    # Earlier decisions answered the post's latest submission as far as anyone can tell now.
    op.execute("UPDATE reviews SET submitted_at = (SELECT posts.submitted_at FROM posts "
               "WHERE posts.id = reviews.post_id AND posts.submitted_at <= reviews.created_at)")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due_at', ['due_at', 'status', 'channel_id', 'sent_at'],
                              unique=False)
        batch_op.create_index('ix_deliveries_sent_at', ['sent_at', 'status', 'channel_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_sent_at')
        batch_op.drop_index('ix_deliveries_due_at')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_created_at'))
        batch_op.drop_column('submitted_at')
