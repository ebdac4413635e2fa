"""rollupvalue: a covering index (metric, hour, segment, release, bucket, n), so a week's latency histogram
(p95) or drift's histograms read only that metric's rows, index-only

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_rollupvalue_metric_hour",
        "rollupvalue",
        ["metric", "hour", "segment", "release", "bucket", "n"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_rollupvalue_metric_hour", table_name="rollupvalue")
