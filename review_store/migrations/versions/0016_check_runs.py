"""tier-1 evals: checkrun (one `review-desk eval run` of a release manifest's deterministic checks, with
the pass rate the gate reads) and checkresult (one check on one case)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "checkrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("checks_hash", _text(64), nullable=False),
        sa.Column("golden_set_version", _text(64), nullable=False),
        sa.Column("outputs_source", _text(200), nullable=False),
        sa.Column("recent", sa.Integer(), nullable=False),
        sa.Column("n_cases", sa.Integer(), nullable=False),
        sa.Column("n_cases_passed", sa.Integer(), nullable=False),
        sa.Column("n_results", sa.Integer(), nullable=False),
        sa.Column("n_results_failed", sa.Integer(), nullable=False),
        sa.Column("n_skipped", sa.Integer(), nullable=False),
        sa.Column("pass_rate", sa.Float(), nullable=True),
        sa.Column("created_by", _text(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"], name=op.f("fk_checkrun_release_id_release")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkrun")),
    )
    op.create_index(op.f("ix_checkrun_release_id"), "checkrun", ["release_id"], unique=False)
    op.create_table(
        "checkresult",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("case_key", _text(240), nullable=False),
        sa.Column("source", _text(10), nullable=False),
        sa.Column("check_name", _text(120), nullable=False),
        sa.Column("kind", _text(30), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["checkrun.id"], name=op.f("fk_checkresult_run_id_checkrun"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkresult")),
    )
    op.create_index(op.f("ix_checkresult_run_id"), "checkresult", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_checkresult_run_id"), table_name="checkresult")
    op.drop_table("checkresult")
    op.drop_index(op.f("ix_checkrun_release_id"), table_name="checkrun")
    op.drop_table("checkrun")
