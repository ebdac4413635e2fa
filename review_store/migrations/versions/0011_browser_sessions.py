"""browser sessions: a sign-in that survives a reload, stored as sha256 of the cookie's random secret, with
its expiry, revocation (sign-out) and last use

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "browsersession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_browsersession_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browsersession")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_browsersession_secret_hash")),
    )
    op.create_index(op.f("ix_browsersession_user_id"), "browsersession", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_browsersession_user_id"), table_name="browsersession")
    op.drop_table("browsersession")
