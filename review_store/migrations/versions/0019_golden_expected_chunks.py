"""retrieval quality: goldenexample.expected_chunks (the ids of the context chunks that should be retrieved
for the example's input; NULL: the example says nothing about retrieval)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("goldenexample") as batch:
        batch.add_column(sa.Column("expected_chunks", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("goldenexample") as batch:
        batch.drop_column("expected_chunks")
