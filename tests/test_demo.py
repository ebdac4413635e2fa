"""The demo world: deterministic, refuses to overwrite, and tells the story the product is built around."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from sqlmodel import SQLModel

from review_store.backup import canonical_digest, canonical_export
from review_store.db import make_engine, read_session
from review_store.demo import build_demo
from review_store.errors import DatabaseNotEmpty

END = datetime(2026, 6, 1)


def _build(path, seed=7):
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    build_demo(engine, seed=seed, traces=800, end=END, password="demo-pass-123")
    return engine


def test_same_seed_same_data(tmp_path):
    a, b = _build(tmp_path / "a.db"), _build(tmp_path / "b.db")
    with read_session(a) as sa, read_session(b) as sb:
        export_a, export_b = canonical_export(sa), canonical_export(sb)
    assert export_a["trace"] and export_a == export_b
    c = _build(tmp_path / "c.db", seed=8)
    with read_session(a) as sa, read_session(c) as sc:
        assert canonical_digest(sa) != canonical_digest(sc)


def test_refuses_non_empty_database_without_force(tmp_path):
    engine = _build(tmp_path / "a.db")
    with pytest.raises(DatabaseNotEmpty):
        build_demo(engine, seed=7, traces=100, end=END)
    build_demo(engine, seed=7, traces=100, end=END, force=True, password="demo-pass-123")
    assert pd.read_sql("SELECT COUNT(*) AS n FROM trace", engine)["n"][0] == 101


def test_story_r2_grounding_regression_in_refunds(demo_engine):
    traces = pd.read_sql("SELECT id, segment, release FROM trace", demo_engine)
    events = pd.read_sql("SELECT trace_id FROM guardrailevent WHERE name = 'grounding'", demo_engine)
    traces["grounding"] = traces["id"].isin(events["trace_id"])
    rate = traces.groupby(["release", "segment"])["grounding"].mean()
    assert rate[("r2", "refunds")] > 2.2 * rate[("r1", "refunds")]
    assert rate[("r2", "billing")] < 1.8 * rate[("r1", "billing")]
    assert set(traces["segment"]) == {"billing", "technical", "account", "refunds"}


def test_labels_overlap_and_roles(demo_engine):
    labels = pd.read_sql("SELECT item_id, reviewer_id FROM label", demo_engine)
    per_item = labels.groupby("item_id").size()
    assert 250 <= len(per_item) <= 350
    assert set(per_item.unique()) == {2, 3}
    roles = set(pd.read_sql("SELECT role FROM user", demo_engine)["role"])
    assert roles == {"reviewer", "owner", "lead", "admin"}
    releases = pd.read_sql("SELECT name, status FROM release ORDER BY name", demo_engine)
    assert list(releases["name"]) == ["r1", "r2", "r3"]
    assert dict(zip(releases["name"], releases["status"], strict=True))["r3"] == "candidate"
