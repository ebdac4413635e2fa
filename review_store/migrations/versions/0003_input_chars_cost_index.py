"""trace.input_chars (filled from input) with a covering drift index, a covering cost index on trace, and a
cost index on successful judge verdicts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OK = sa.text("error IS NULL")
COST_COLUMNS = [
    "ts",
    "app",
    "model",
    "prompt_version",
    "segment",
    "release",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "task_success",
    "cache_hit",
    "latency_ms",
]


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite: batch mode would copy a table of millions of rows).
    op.add_column("trace", sa.Column("input_chars", sa.Integer(), nullable=True))
    # Data migration: length() counts characters on both SQLite (UTF-8 text) and PostgreSQL, as len() does.
    op.execute("UPDATE trace SET input_chars = length(input)")
    op.create_index(
        "ix_trace_ts_drift", "trace", ["ts", "release", "segment", "input_chars", "top_retrieval_score"]
    )
    op.create_index("ix_trace_ts_cost", "trace", COST_COLUMNS)
    op.create_index(
        "ix_judgeverdict_ok_cost",
        "judgeverdict",
        ["judge_config_id", "cost_usd"],
        sqlite_where=OK,
        postgresql_where=OK,
    )


def downgrade() -> None:
    op.drop_index("ix_judgeverdict_ok_cost", table_name="judgeverdict", sqlite_where=OK, postgresql_where=OK)
    op.drop_index("ix_trace_ts_cost", table_name="trace")
    op.drop_index("ix_trace_ts_drift", table_name="trace")
    with op.batch_alter_table("trace", schema=None) as batch_op:
        batch_op.drop_column("input_chars")
