"""feed items found, and decided, in a period: indexes for the reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 17:00:00.000000
"""

from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feed_items', schema=None) as batch_op:
        batch_op.create_index('ix_feed_items_found', ['found_at', 'feed_id'], unique=False)
        batch_op.create_index('ix_feed_items_decided', ['state_changed_at', 'state', 'feed_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feed_items', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_items_decided')
        batch_op.drop_index('ix_feed_items_found')
