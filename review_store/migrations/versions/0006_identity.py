"""identity: credentials (personal CLI tokens and API keys, stored hashed), sign-in throttling, and
usernames unique case-insensitively with their length and charset held by the database itself

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$"
SQLITE_GUARDS = [
    f"""CREATE TRIGGER IF NOT EXISTS trg_user_username_{op_.split()[0].lower()} BEFORE {op_} ON "user"
    FOR EACH ROW WHEN length(CAST(NEW.username AS BLOB)) NOT BETWEEN 1 AND 80
      OR length(NEW.username) <> length(CAST(NEW.username AS BLOB))
      OR NEW.username GLOB '*[^A-Za-z0-9._@-]*' OR substr(NEW.username, 1, 1) GLOB '[^A-Za-z0-9]'
    BEGIN SELECT RAISE(ABORT, 'username: 1-80 letters, digits, . _ - @, starting with a letter or digit');
    END"""
    for op_ in ("INSERT", "UPDATE OF username")
]


def _refuse_existing_clashes() -> None:
    bind = op.get_bind()
    clashes = bind.execute(
        sa.text('SELECT lower(username) FROM "user" GROUP BY lower(username) HAVING count(*) > 1')
    ).scalars().all()
    if clashes:
        raise RuntimeError(
            "usernames that differ only in case must be merged or renamed before this upgrade: "
            + ", ".join(sorted(clashes))
        )


def upgrade() -> None:
    _refuse_existing_clashes()
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_credential_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_credential_secret_hash")),
    )
    op.create_index(op.f("ix_credential_user_id"), "credential", ["user_id"], unique=False)
    op.create_table(
        "signinthrottle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signinthrottle")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_signinthrottle_scope")),
    )
    op.create_index("uq_user_username_lower", "user", [sa.text("lower(username)")], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_GUARDS:
            op.execute(statement)
    else:
        op.execute(f"""ALTER TABLE "user" ADD CONSTRAINT ck_user_username_chars CHECK (username ~ '{USERNAME_PATTERN}')""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trg_user_username_insert")
        op.execute("DROP TRIGGER IF EXISTS trg_user_username_update")
    else:
        op.execute('ALTER TABLE "user" DROP CONSTRAINT IF EXISTS ck_user_username_chars')
    op.drop_index("uq_user_username_lower", table_name="user")
    op.drop_table("signinthrottle")
    op.drop_index(op.f("ix_credential_user_id"), table_name="credential")
    op.drop_table("credential")
