"""trace.end_user and trace.tenant (who the traffic was for, on ingest), the covering index the per-tenant
cost and spike reads scan over a bounded range, and the prompt-injection monitor's escalations per end user
and window (issue 16 part 6)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    # a constant default: PostgreSQL adds the columns without rewriting the table, SQLite in place
    op.add_column("trace", sa.Column("end_user", _text(120), nullable=False, server_default=""))
    op.add_column("trace", sa.Column("tenant", _text(120), nullable=False, server_default=""))
    op.create_index(
        "ix_trace_ts_tenant", "trace", ["ts", "tenant", "app", "tokens_in", "tokens_out", "cost_usd"]
    )
    op.create_table(
        "userescalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("end_user", _text(120), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("triggers", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["reviewitem.id"], name=op.f("fk_userescalation_item_id_reviewitem"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_userescalation")),
        sa.UniqueConstraint("end_user", "window_start", name=op.f("uq_userescalation_end_user")),
    )


def downgrade() -> None:
    op.drop_table("userescalation")
    op.drop_index("ix_trace_ts_tenant", table_name="trace")
    with op.batch_alter_table("trace") as batch_op:
        batch_op.drop_column("tenant")
        batch_op.drop_column("end_user")
