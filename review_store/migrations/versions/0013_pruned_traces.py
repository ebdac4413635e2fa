"""pruned traces: the external id and time of every trace a prune deleted, so that importing it again does
not add it to the rollups a second time

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prunedtrace",
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("external_id", name=op.f("pk_prunedtrace")),
    )


def downgrade() -> None:
    op.drop_table("prunedtrace")
