"""The API on both databases (SQLite and PostgreSQL): keys, a release from a manifest through its gate
(409 then 200 after the evidence), approval as the key's user, the live pointer, items paging, errors."""

from __future__ import annotations

from review_store.db import session_scope
from review_store.desk import Desk
from tests.api_server import api_key, client, running_api
from tests.factories import make_user
from tests.test_releases import MANIFEST, POLICY


def test_release_gate_and_sign_off_over_http(db_url, pinned_clock) -> None:
    desk = Desk.open(db_url, clock=pinned_clock)
    with session_scope(desk.engine) as s:
        lead = make_user(s, role="lead", username="lena")
        make_user(s, role="owner", username="olivia")
        make_user(s, role="owner", username="oscar")
    desk.releases.create_gate_policy(actor=lead, thresholds=POLICY)
    keys = {name: api_key(desk, name) for name in ("lena", "olivia", "oscar")}
    with (
        running_api(desk) as base,
        client(base, keys["olivia"]) as olivia,
        client(base, keys["oscar"]) as oscar,
        client(base, keys["lena"]) as lena,
    ):
        assert olivia.get("/api/v1/releases/live").json() == {
            "live": None,
            "canary": None,
            "known_good": None,
        }
        created = olivia.post("/api/v1/releases", json={"manifest": MANIFEST, "name": "c1"})
        assert created.status_code == 201 and created.json()["author"] == "olivia"
        assert olivia.post("/api/v1/releases", json={"manifest": MANIFEST, "name": "c1"}).status_code == 409
        assert oscar.get("/api/v1/releases/c1/gate").status_code == 409  # no evidence yet
        run = lena.post(
            "/api/v1/releases/c1/evals", json={"metrics": {"accuracy": 0.91, "p95_latency_ms": 1200}}
        )
        assert run.status_code == 201
        gate = oscar.get("/api/v1/releases/c1/gate")
        assert gate.status_code == 200 and gate.json()["passed"] is True
        approved = oscar.post(
            "/api/v1/releases/c1/approve",
            json={"comment": "ok", "seen_evidence_hash": gate.json()["evidence_hash"]},
        )
        assert approved.status_code == 200 and approved.json()["approver"] == "oscar"
        for stage in (5, 25, 50):
            assert oscar.post("/api/v1/releases/c1/promote").json()["stage_pct"] == stage
            live = oscar.get("/api/v1/releases/live").json()
            assert live["canary"]["name"] == "c1" and live["canary"]["traffic_pct"] == stage
        assert oscar.post("/api/v1/releases/c1/promote").json()["stage_pct"] == 100
        live = oscar.get("/api/v1/releases/live").json()
        assert live["live"]["name"] == "c1" and live["live"]["traffic_pct"] == 100 and live["canary"] is None
        page = lena.get("/api/v1/items").json()
        assert page == {"items": [], "next_cursor": None}
        assert (
            lena.get("/api/v1/releases/c1/gate", headers={"Authorization": "Bearer nope"}).status_code == 401
        )
    assert desk.releases.get("c1").status == "live"
