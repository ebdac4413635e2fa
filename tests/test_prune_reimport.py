"""Importing again after a prune does not count pruned traces twice: the prune records their external ids
(prunedtrace) and ingest skips them (`pruned` in the report), with or without --update, so every dashboard
number and every rollup row stays as it was; both databases."""

from __future__ import annotations

import json
import random

from sqlalchemy import func, select
from sqlmodel import col
from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import read_session
from review_store.desk import Desk
from review_store.models import PrunedTrace, Trace
from review_store.permissions import SYSTEM
from tests.test_prune import CUTOFF, dashboards
from tests.test_rollups import records, snapshot, write


def state(desk: Desk) -> tuple[dict, dict]:
    with desk.engine.connect() as conn:
        rollups = snapshot(conn)
    return dashboards(desk), rollups


def test_reimport_after_prune_keeps_every_number(engine, tmp_path):
    desk = Desk(engine)
    recs = records(random.Random(9), 1500, days=30)
    path = write(tmp_path / "a.jsonl", recs)
    first = desk.ingest.import_file(actor=SYSTEM, path=path)
    assert first.inserted == len(recs) and first.pruned == 0
    before = state(desk)

    report = desk.rollups.prune(actor=SYSTEM, older_than="10d")
    assert report.cutoff == CUTOFF and report.deleted_traces > 0
    with read_session(engine) as session:
        old = set(session.exec(select(Trace.external_id).where(col(Trace.ts) < CUTOFF)).scalars())
        recorded = session.exec(select(func.count()).select_from(PrunedTrace)).scalar_one()
    assert not old and recorded == report.deleted_traces
    assert state(desk) == before

    again = desk.ingest.import_file(actor=SYSTEM, path=path)
    assert (again.pruned, again.inserted, again.unchanged) == (
        report.deleted_traces,
        0,
        len(recs) - report.deleted_traces,
    )
    assert state(desk) == before

    # --update with every pruned record changed (other segment, more tokens): still skipped, same numbers
    pruned_ids = {r["trace_id"] for r in recs if r["timestamp"] < CUTOFF.isoformat()}
    assert len(pruned_ids) == report.deleted_traces
    changed = [
        {**r, "segment": "moved", "tokens_out": r["tokens_out"] + 7} if r["trace_id"] in pruned_ids else r
        for r in recs
    ]
    updated = desk.ingest.import_file(actor=SYSTEM, path=write(tmp_path / "b.jsonl", changed), update=True)
    assert (updated.pruned, updated.updated, updated.inserted) == (report.deleted_traces, 0, 0)
    assert state(desk) == before

    # the CLI says so; a new trace older than the cut-off (never imported) is still taken
    late = {**recs[0], "trace_id": "late-arrival"}
    cli = CliRunner().invoke(
        app, ["--db", desk.url, "--json", "ingest", write(tmp_path / "c.jsonl", [*recs, late]), "--update"]
    )
    assert cli.exit_code == 0, cli.output
    payload = json.loads(cli.stdout)
    assert payload["pruned"] == report.deleted_traces and payload["inserted"] == 1
    text = CliRunner().invoke(app, ["--db", desk.url, "ingest", path])
    assert f"{report.deleted_traces} record(s) skipped: pruned before" in text.output
    with read_session(engine) as session:
        assert session.exec(select(Trace.ts).where(Trace.external_id == "late-arrival")).one()[0] < CUTOFF
