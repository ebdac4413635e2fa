"""the review queue's serving index: (status, queue, priority DESC, created_at, id) replaces the lane index
(status, queue, priority, created_at, id). With priority descending the index order IS the serving order, so
a claim is one ordered index walk that stops at the first eligible item, instead of a loose scan per
(queue, priority) lane whose ORDER BY (created_at, id) PostgreSQL could also serve from
ix_reviewitem_created: with statistics from before the items closed it did, walking every closed item.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANE = ["status", "queue", "priority", "created_at", "id"]


def upgrade() -> None:
    op.drop_index("ix_reviewitem_lane", table_name="reviewitem")
    op.create_index(
        "ix_reviewitem_serve",
        "reviewitem",
        ["status", "queue", sa.text("priority DESC"), "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_reviewitem_serve", table_name="reviewitem")
    op.create_index("ix_reviewitem_lane", "reviewitem", LANE)
