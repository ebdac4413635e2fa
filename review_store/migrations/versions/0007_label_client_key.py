"""label.client_key: the HTTP API's Idempotency-Key for a submitted label, unique per reviewer, so a
client's retry returns the stored label and a key reused for another item is refused

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("label") as batch_op:
        batch_op.add_column(sa.Column("client_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.create_unique_constraint("uq_label_reviewer_id", ["reviewer_id", "client_key"])


def downgrade() -> None:
    with op.batch_alter_table("label") as batch_op:
        batch_op.drop_constraint("uq_label_reviewer_id", type_="unique")
        batch_op.drop_column("client_key")
