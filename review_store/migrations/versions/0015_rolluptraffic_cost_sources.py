"""rolluptraffic: where the costs came from (trace.cost_source), so the Costs page's split reads the
rollup: cost_reported_nanos / cost_reported (count), cost_computed_nanos / cost_computed; unknown is the
rest. Backfilled from the raw traces, in the upgrade's transaction: the per-source sums of every rollup
row's traces are computed by the writers' own function (rollups.maintain.Deltas, streamed in chunks as a
rebuild does) and set with one UPDATE per rollup row. The other sums are left as they are, so hours whose
raw traces a prune deleted keep their numbers (their traces count as unknown source: nothing is left to
tell). The raw index that served the split (ix_trace_ts_cost_source) goes: one index less for every
ingested trace to maintain.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = ("cost_reported_nanos", "cost_reported", "cost_computed_nanos", "cost_computed")


def upgrade() -> None:
    for name in _NEW:
        kind = sa.BigInteger() if name.endswith("_nanos") else sa.Integer()
        op.add_column("rolluptraffic", sa.Column(name, kind, nullable=False, server_default="0"))
    from review_store.rollups.maintain import TRAFFIC_KEYS, TRAFFIC_SUMS, Deltas
    from review_store.rollups.rebuild import backfill_traffic_sums

    conn = op.get_bind()
    deltas = Deltas()
    backfill_traffic_sums(conn, deltas)
    at = [TRAFFIC_SUMS.index(n) for n in _NEW]
    # typed as the writers bind them (an untyped hour binds as sqlite3's own text and matches no row)
    types = {"hour": sa.DateTime(), **{n: sa.BigInteger() for n in _NEW}}
    table = sa.table("rolluptraffic", *(sa.column(c, types.get(c, sa.String())) for c in (*TRAFFIC_KEYS, *_NEW)))
    stmt = (
        table.update()
        .where(*(table.c[k] == sa.bindparam(f"k_{k}") for k in TRAFFIC_KEYS))
        .values({n: sa.bindparam(f"v_{n}") for n in _NEW})
    )
    rows = [
        {
            **{f"k_{k}": v for k, v in zip(TRAFFIC_KEYS, key, strict=True)},
            **{f"v_{n}": sums[i] for n, i in zip(_NEW, at, strict=True)},
        }
        for key, sums in sorted(deltas.traffic.items())
        if any(sums[i] for i in at)
    ]
    for i in range(0, len(rows), 1000):
        conn.execute(stmt, rows[i : i + 1000])
    op.drop_index("ix_trace_ts_cost_source", table_name="trace")


def downgrade() -> None:
    op.create_index("ix_trace_ts_cost_source", "trace", ["ts", "cost_source", "cost_usd"])
    with op.batch_alter_table("rolluptraffic") as batch_op:
        for name in reversed(_NEW):
            batch_op.drop_column(name)
