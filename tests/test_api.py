"""The REST API over real HTTP (uvicorn on a loopback port, httpx) against a copy of the demo world:
every endpoint group, every error status, and bad bodies store nothing."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from review_store.desk import Desk
from review_store.desk.dashboard_views import Range
from review_store.models import AuditEvent, EvalRun, Label, Release
from tests.api_server import api_key, client, running_api

ANSWERS = {"correctness": 4, "groundedness": 5, "tone": 4, "issue_type": "none"}


@pytest.fixture
def desk(demo_db_url, pinned_clock) -> Desk:
    return Desk.open(demo_db_url, clock=pinned_clock)


@pytest.fixture
def api(desk):
    with running_api(desk) as base:
        yield base


def _count(desk: Desk, model) -> int:
    with Session(desk.engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_openapi_docs_list_every_group(api) -> None:
    with client(api) as c:
        assert c.get("/docs").status_code == 200
        paths = c.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/items",
        "/api/v1/items/{item_id}/labels",
        "/api/v1/releases/{name}/gate",
        "/api/v1/releases/live",
        "/api/v1/evals/import",
        "/api/v1/agreement/trust",
        "/api/v1/dashboards/overview",
        "/api/v1/audit/verify",
    ):
        assert path in paths, path


def test_items_filters_and_cursor_paging(desk, api) -> None:
    with client(api, api_key(desk, "lena")) as c:
        seen, cursor = [], None
        while True:
            params = {"status": "open", "segment": "refunds", "limit": 7}
            if cursor:
                params["cursor"] = cursor
            page = c.get("/api/v1/items", params=params)
            assert page.status_code == 200
            body = page.json()
            seen += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        expected = desk.review.items(status="open", segment="refunds", limit=500).items
        assert [i["id"] for i in seen] == [i.id for i in expected] and len(seen) > 7
        assert {(i["status"], i["segment"]) for i in seen} == {("open", "refunds")}
        strat = c.get("/api/v1/items", params={"strategy": "low_score", "queue": "sampled"}).json()["items"]
        assert strat and {i["strategy"] for i in strat} == {"low_score"}
        one = c.get(f"/api/v1/items/{seen[0]['id']}").json()
        assert (
            one["item"]["id"] == seen[0]["id"] and one["trace"]["external_id"] == seen[0]["trace_external_id"]
        )
        bad = c.get("/api/v1/items", params={"status": "nope"})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"
        bad = c.get("/api/v1/items", params={"cursor": "garbage!"})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"
        bad = c.get("/api/v1/items", params={"limit": 0})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "query.limit"
        assert c.get("/api/v1/items/999999").status_code == 404


def test_claim_and_label_idempotent_with_a_client_key(desk, api) -> None:
    key = api_key(desk, "rita")
    labels, events = _count(desk, Label), _count(desk, AuditEvent)
    with client(api, key) as c:
        claim = c.post("/api/v1/items/next").json()
        item = claim["item"]["item"]["id"]
        url = f"/api/v1/items/{item}/labels"
        first = c.post(url, json={"answers": ANSWERS}, headers={"Idempotency-Key": "job-1"})
        assert first.status_code == 201, first.text
        assert first.json()["reviewer"] == "rita" and first.json()["item_id"] == item
        again = c.post(url, json={"answers": ANSWERS}, headers={"Idempotency-Key": "job-1"})
        assert again.status_code == 201 and again.json() == first.json()
        changed = c.post(url, json={"answers": {**ANSWERS, "tone": 1}}, headers={"Idempotency-Key": "job-1"})
        assert changed.status_code == 409
        # the same key for another item is refused, not stored as a second label
        other = c.post("/api/v1/items/next").json()["item"]["item"]["id"]
        reused = c.post(f"/api/v1/items/{other}/labels", json={"answers": ANSWERS, "client_key": "job-1"})
        assert reused.status_code == 409 and "job-1" in reused.json()["error"]["message"]
    assert _count(desk, Label) == labels + 1
    with Session(desk.engine) as s:
        row = s.exec(select(Label).where(Label.client_key == "job-1")).one()
        assert row.source == "api" and row.item_id == item
        event = s.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert _count(desk, AuditEvent) == events + 1  # one label, one audit event (a claim is not audited)
    assert event.actor == "rita"


def test_bad_label_bodies_get_400_with_the_field_and_store_nothing(desk, api) -> None:
    key = api_key(desk, "rita")
    labels, events = _count(desk, Label), _count(desk, AuditEvent)
    with client(api, key) as c:
        item = c.post("/api/v1/items/next").json()["item"]["item"]["id"]
        url = f"/api/v1/items/{item}/labels"
        cases = [
            ({"answers": {**ANSWERS, "correctness": 9}}, "correctness"),
            ({"answers": ANSWERS, "seconds_spent": -1}, "body.seconds_spent"),
            ({"answers": ANSWERS, "surprise": 1}, "body.surprise"),
            ({"answers": "not an object"}, "body.answers"),
            ({}, "body.answers"),
        ]
        for body, field in cases:
            r = c.post(url, json=body)
            assert r.status_code == 400, (body, r.text)
            assert field in r.json()["error"]["field"], (body, r.json())
        r = c.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400
    assert (_count(desk, Label), _count(desk, AuditEvent)) == (labels, events)


def test_403_when_the_role_may_not_and_nothing_is_written(desk, api) -> None:
    owner_key, reviewer_key = api_key(desk, "olivia"), api_key(desk, "rita")
    events = _count(desk, AuditEvent)
    with client(api, owner_key) as owner:  # owners do not label
        r = owner.post("/api/v1/items/next")
        assert r.status_code == 403 and r.json()["error"]["type"] == "PermissionDenied"
    with client(api, reviewer_key) as reviewer:  # reviewers do not approve
        r = reviewer.post("/api/v1/releases/r3/approve", json={"comment": "ship it"})
        assert r.status_code == 403
    assert _count(desk, AuditEvent) == events


def test_release_flow_create_gate_approve_promote_live_rollback(desk, api) -> None:
    with client(api, api_key(desk, "olivia")) as olivia, client(api, api_key(desk, "oscar")) as oscar:
        assert oscar.get("/api/v1/releases/r3/gate").status_code == 200
        failing = oscar.get("/api/v1/releases/r2/gate")
        assert failing.status_code == 409 and failing.json()["passed"] is False
        assert any(not row["passed"] for row in failing.json()["rows"])
        assert olivia.get("/api/v1/releases/nope/gate").status_code == 404

        live = olivia.get("/api/v1/releases/live").json()
        assert live["live"]["name"] == "r2" and live["canary"] is None and live["known_good"] == "r1"

        # the author may not approve their own release (the one sign-off rule), another owner may
        assert olivia.post("/api/v1/releases/r3/approve", json={"comment": "mine"}).status_code == 403
        gate = oscar.get("/api/v1/releases/r3/gate").json()
        ok = oscar.post(
            "/api/v1/releases/r3/approve",
            json={"comment": "evidence reviewed", "seen_evidence_hash": gate["evidence_hash"]},
        )
        assert ok.status_code == 200 and ok.json()["approver"] == "oscar"
        assert oscar.post("/api/v1/releases/r3/approve", json={"comment": "twice"}).status_code == 409

        step = oscar.post("/api/v1/releases/r3/promote").json()
        assert step["stage_pct"] == 5
        live = oscar.get("/api/v1/releases/live").json()
        assert live["canary"] == {**live["canary"], "name": "r3", "traffic_pct": 5}
        assert live["live"]["name"] == "r2" and live["live"]["traffic_pct"] == 95

        back = oscar.post("/api/v1/releases/rollback", json={"reason": "canary errors"})
        assert back.status_code == 200 and back.json()["live"] == "r1"
        live = oscar.get("/api/v1/releases/live").json()
        assert live["live"]["name"] == "r1" and live["canary"] is None

        manifest = json.loads(desk.releases.get("r3").manifest_json)
        manifest["prompts"]["system"] += " Always cite the policy."
        created = olivia.post("/api/v1/releases", json={"manifest": manifest, "name": "r4", "parent": "r3"})
        assert created.status_code == 201 and created.json()["status"] == "candidate"
        assert created.json()["author"] == "olivia"
        dup = olivia.post("/api/v1/releases", json={"manifest": manifest, "name": "r4"})
        assert dup.status_code == 409
    with Session(desk.engine) as s:
        approvals = s.exec(select(AuditEvent).where(AuditEvent.action == "release.approve")).all()
    assert approvals[-1].actor == "oscar"


def test_bad_manifests_and_evals_store_nothing(desk, api) -> None:
    releases, runs = _count(desk, Release), _count(desk, EvalRun)
    with client(api, api_key(desk, "olivia")) as c:
        r = c.post("/api/v1/releases", json={"manifest": "prompts: [unclosed", "name": "bad"})
        assert r.status_code == 400 and "body.manifest" in r.json()["error"]["message"]
        r = c.post("/api/v1/releases", json={"manifest": {"surprise": {}}, "name": "bad"})
        assert r.status_code == 400
        r = c.post("/api/v1/releases", json={"name": "bad"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "body.manifest"
        good = {"release": "r3", "metrics": {"correctness_accuracy": 0.9}, "source": "ci"}
        r = c.post("/api/v1/evals/import", json=[good, {"release": "nope", "metrics": {"x": 1}}])
        assert r.status_code in (400, 404)
        r = c.post("/api/v1/releases/r3/evals", json={"metrics": {"m": "high"}})
        assert r.status_code == 400
    assert (_count(desk, Release), _count(desk, EvalRun)) == (releases, runs)


def test_eval_import_and_record(desk, api) -> None:
    runs = _count(desk, EvalRun)
    with client(api, api_key(desk, "lena")) as c:
        r = c.post(
            "/api/v1/evals/import",
            json={"release": "r3", "metrics": {"p95_latency_ms": 900.0}, "source": "nightly"},
        )
        assert r.status_code == 201, r.text
        assert r.json()[0]["release"] == "r3" and r.json()[0]["created_by"] == "lena"
        r = c.post("/api/v1/releases/r3/evals", json={"metrics": {"p95_latency_ms": 880.0}})
        assert r.status_code == 201 and r.json()["source"] == "api"
        listed = c.get("/api/v1/releases/r3/evals").json()
        assert [e["id"] for e in listed][-2:] == [r.json()["id"] - 1, r.json()["id"]]
    assert _count(desk, EvalRun) == runs + 2


def test_agreement_is_the_gates_trust_verdict(desk, api) -> None:
    with client(api, api_key(desk, "lena")) as c:
        r = c.get("/api/v1/agreement/trust", params={"judge": "acme-judge@1", "question": "correctness"})
        assert r.status_code == 200
        expected = desk.agreement.trust(judge="acme-judge@1", question="correctness")
        assert r.json() == expected.to_json() and r.json()["trusted"] is True
        seg = c.get(
            "/api/v1/agreement/trust",
            params={"judge": "acme-judge@1", "question": "groundedness", "segment": "refunds"},
        ).json()
        gate_row = next(
            row for row in desk.releases.gate("r2").rows if row.metric == "groundedness_rate:refunds"
        )
        assert seg["trusted"] == gate_row.judge_trusted
        rows = c.get(
            "/api/v1/agreement/segments", params={"judge": "acme-judge@1", "question": "tone"}
        ).json()
        assert {row["segment"] for row in rows} == {"billing", "technical", "account", "refunds"}
        assert c.get("/api/v1/agreement/trust", params={"judge": "nope", "question": "x"}).status_code == 404
        r = c.get("/api/v1/agreement/trust", params={"judge": "acme-judge@1"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "query.question"


def test_dashboard_overview_numbers(desk, api) -> None:
    with client(api, api_key(desk, "lena")) as c:
        r = c.get("/api/v1/dashboards/overview", params={"days": 7, "segment": "refunds"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["range"]["end"] == "2026-06-01T12:00:00" and body["range"]["segment"] == "refunds"
        expected = desk.dashboards.overview(
            range=Range(start=datetime(2026, 5, 25, 12), end=datetime(2026, 6, 1, 12), segment="refunds")
        )
        assert body == expected.to_json() and body["traces"] > 0
        assert "task_success_rate" in {k["key"] for k in body["kpis"]}
        r = c.get(
            "/api/v1/dashboards/overview", params={"start": "2026-06-01T00:00:00Z", "end": "2026-05-01"}
        )
        assert r.status_code == 400 and r.json()["error"]["field"] == "start"
        r = c.get("/api/v1/dashboards/overview", params={"bucket": "fortnight"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "bucket"
        assert c.get("/api/v1/dashboards/filters").json()["segments"]


def test_audit_verify(desk, api) -> None:
    with client(api, api_key(desk, "adam")) as c:
        r = c.get("/api/v1/audit/verify")
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is True and r.json()["checked"] > 0
    with client(api, api_key(desk, "rita")) as c:
        assert c.get("/api/v1/audit/verify").status_code == 403
    with Session(desk.engine) as s:  # someone with database access rewrites history
        row = s.exec(select(AuditEvent).order_by(AuditEvent.seq).offset(3)).first()
        row.actor = "mallory"
        s.add(row)
        s.commit()
        seq = row.seq
    with client(api, api_key(desk, "adam")) as c:
        r = c.get("/api/v1/audit/verify")
        assert r.status_code == 409 and r.json()["ok"] is False and r.json()["first_bad_seq"] == seq


def test_unknown_route_and_method_are_json(desk, api) -> None:
    with client(api, api_key(desk, "lena")) as c:
        r = c.get("/api/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["status"] == 404
        r = c.delete("/api/v1/items")
        assert r.status_code == 405
