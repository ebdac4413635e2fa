"""item browser: reviewitem.assigned_to_id (a lead's assignment the queue honours), the browser's indexes,
and savedview (a user's named filter sets)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reviewitem") as batch_op:
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reviewitem_assigned_to_id_user"), "user", ["assigned_to_id"], ["id"]
        )
        batch_op.create_index("ix_reviewitem_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_reviewitem_assigned", ["assigned_to_id", "status"], unique=False)
    op.create_table(
        "savedview",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_savedview_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_savedview")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_savedview_user_id")),
    )


def downgrade() -> None:
    op.drop_table("savedview")
    with op.batch_alter_table("reviewitem") as batch_op:
        batch_op.drop_index("ix_reviewitem_assigned")
        batch_op.drop_index("ix_reviewitem_created")
        batch_op.drop_constraint(batch_op.f("fk_reviewitem_assigned_to_id_user"), type_="foreignkey")
        batch_op.drop_column("assigned_to_id")
