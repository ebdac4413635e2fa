"""a covering cost index on trace led by app (the cost breakdown by feature groups without sorting) and an
index on trace.model (maturity counts the distinct models by probes),
and (ts, prompt_version, model, id) for the hallucination drill-down's join, index-only on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    "app",
    "ts",
    "segment",
    "release",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "task_success",
    "cache_hit",
]


def upgrade() -> None:
    op.create_index("ix_trace_app_cost", "trace", COLUMNS)
    op.create_index("ix_trace_model", "trace", ["model"])
    op.create_index("ix_trace_ts_version", "trace", ["ts", "prompt_version", "model", "id"])


def downgrade() -> None:
    op.drop_index("ix_trace_ts_version", table_name="trace")
    op.drop_index("ix_trace_model", table_name="trace")
    op.drop_index("ix_trace_app_cost", table_name="trace")
