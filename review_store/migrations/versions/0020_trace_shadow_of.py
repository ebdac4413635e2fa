"""trace.shadow_of: the external id of the production trace whose input a shadow trace answers (the
candidate release's output for the same input, release = the candidate); null for production traffic.
Existing traces are all production traffic, so no rollup changes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("trace", sa.Column("shadow_of", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.create_index("ix_trace_shadow_of", "trace", ["shadow_of"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trace_shadow_of", table_name="trace")
    with op.batch_alter_table("trace") as batch:
        batch.drop_column("shadow_of")
