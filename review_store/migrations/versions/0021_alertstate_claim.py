"""alertstate.claim and alertstate.claimed_at: the check about to send a subject claims it in the
transaction that decided so, so two concurrent `alerts check` runs do not notify it twice. Existing
states are unclaimed (null).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alertstate", sa.Column("claim", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    op.add_column("alertstate", sa.Column("claimed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alertstate") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claim")
