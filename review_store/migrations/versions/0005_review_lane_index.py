"""the review queue's lane index ends with id: (status, queue, priority, created_at, id) is exactly the
serving order (oldest first, ties by id), so PostgreSQL walks it and stops at the first eligible item
instead of sorting every open item of the lane (SQLite already had the rowid at the end of the old index)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ["status", "queue", "priority", "created_at"]


def upgrade() -> None:
    with op.batch_alter_table("reviewitem") as batch_op:
        batch_op.drop_index("ix_reviewitem_status_queue_priority")
        batch_op.create_index("ix_reviewitem_lane", [*OLD, "id"])


def downgrade() -> None:
    with op.batch_alter_table("reviewitem") as batch_op:
        batch_op.drop_index("ix_reviewitem_lane")
        batch_op.create_index("ix_reviewitem_status_queue_priority", OLD)
