"""alerts: alertrule (kind, params, webhook, cooldown), alertstate (firing subjects, the dedup) and
alertdelivery (every delivery attempt with its status code, error and time)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "alertrule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(120), nullable=False),
        sa.Column("kind", _text(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("webhook_url", _text(500), nullable=False),
        sa.Column("payload_format", _text(10), nullable=False),
        sa.Column("cooldown_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", _text(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alertrule")),
        sa.UniqueConstraint("name", name=op.f("uq_alertrule_name")),
    )
    op.create_table(
        "alertstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("subject", _text(240), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alertrule.id"], name=op.f("fk_alertstate_rule_id_alertrule"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alertstate")),
        sa.UniqueConstraint("rule_id", "subject", name=op.f("uq_alertstate_rule_id")),
    )
    op.create_index(op.f("ix_alertstate_rule_id"), "alertstate", ["rule_id"], unique=False)
    op.create_table(
        "alertdelivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("batch", _text(40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("url", _text(500), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alertrule.id"], name=op.f("fk_alertdelivery_rule_id_alertrule"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alertdelivery")),
    )
    op.create_index(op.f("ix_alertdelivery_rule_id"), "alertdelivery", ["rule_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_alertdelivery_rule_id"), table_name="alertdelivery")
    op.drop_table("alertdelivery")
    op.drop_index(op.f("ix_alertstate_rule_id"), table_name="alertstate")
    op.drop_table("alertstate")
    op.drop_table("alertrule")
