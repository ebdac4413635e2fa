"""trace.cost_source: whether a trace's cost was reported by its source or computed at ingest from its
model and token counts with litellm's bundled price map (NULL: no cost known). Costs stored before this
revision could only have been reported, so they are marked so; an index serves the Costs page's split

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("trace", sa.Column("cost_source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
    op.execute("UPDATE trace SET cost_source = 'reported' WHERE cost_usd IS NOT NULL")
    op.create_index("ix_trace_ts_cost_source", "trace", ["ts", "cost_source", "cost_usd"])


def downgrade() -> None:
    op.drop_index("ix_trace_ts_cost_source", table_name="trace")
    with op.batch_alter_table("trace") as batch_op:
        batch_op.drop_column("cost_source")
