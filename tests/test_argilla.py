"""Argilla sync: the mapping with the SDK's own classes, and push/pull against recorded HTTP exchanges.

No Argilla server can run here (it needs Elasticsearch/OpenSearch), so `FakeArgilla` answers the routes
argilla 2.8's SDK calls (argilla/_api/*.py) with bodies shaped like the server's, starting from the
recorded responses in tests/fixtures/argilla/, and keeps created datasets/records in memory so a push
followed by a pull exercises the real SDK end to end. With ARGILLA_API_URL/ARGILLA_API_KEY set, the last
test runs against that real server instead.
"""

from __future__ import annotations

import copy
import json
import os
import re
import uuid
import warnings
from pathlib import Path

import httpx
import pytest
import respx
from sqlmodel import col, select
from typer.testing import CliRunner

from review_store.argilla import mapping as am
from review_store.argilla.sync import connect
from review_store.db import read_session
from review_store.desk import Desk
from review_store.errors import PermissionDenied, ValidationFailed
from review_store.models import AuditEvent, Label, ReviewItem, Trace
from review_store.permissions import SYSTEM, Actor
from review_store.rubrics import RubricSpec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import argilla as rg

FIXTURES = Path(__file__).parent / "fixtures" / "argilla"
BASE = "http://argilla.test"
NOW = "2026-11-23T10:05:00.000000"
SPEC = RubricSpec.from_dicts(
    "acme-support",
    [
        {"key": "correctness", "kind": "rating", "min": 1, "max": 5, "guidelines": "5 = fully correct"},
        {"key": "issue_type", "kind": "label", "options": ["none", "wrong_policy", "other"]},
        {"key": "tags", "kind": "multi_label", "options": ["pii", "refund", "tone"], "required": False},
        {"key": "notes", "kind": "text", "guidelines": "What a better answer says."},
    ],
)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class FakeArgilla:
    """In-memory Argilla 2.x server for the routes the SDK uses; every request is kept in `calls`."""

    def __init__(self) -> None:
        self.me, self.users, self.workspaces = (
            fixture("me.json"),
            fixture("users.json"),
            fixture("workspaces.json"),
        )
        self.datasets: dict[str, dict] = {}
        self.children: dict[str, dict[str, list[dict]]] = {}
        self.records: dict[str, dict[str, dict]] = {}  # dataset id -> external id -> record
        self.calls: list[tuple[str, str]] = []

    def _created(self, body: dict, dataset_id: str | None = None) -> dict:
        out = dict(body, id=str(uuid.uuid4()), inserted_at=NOW, updated_at=NOW)
        if dataset_id:
            out["dataset_id"] = dataset_id
        return out

    def handle(self, request: httpx.Request) -> httpx.Response:  # noqa: C901 (one route table)
        method, path = request.method, request.url.path
        self.calls.append((method, path))
        body = json.loads(request.content) if request.content else {}
        if (method, path) == ("GET", "/api/v1/me"):
            return httpx.Response(200, json=self.me)
        if (method, path) == ("GET", "/api/v1/me/workspaces"):
            return httpx.Response(200, json=self.workspaces)
        if (method, path) == ("GET", "/api/v1/users"):
            return httpx.Response(200, json=self.users)
        if m := re.fullmatch(r"/api/v1/workspaces/([\w-]+)", path):
            ws = [w for w in self.workspaces["items"] if w["id"] == m[1]]
            return (
                httpx.Response(200, json=ws[0]) if ws else httpx.Response(404, json={"detail": "not found"})
            )
        if (method, path) == ("GET", "/api/v1/me/datasets"):
            return httpx.Response(200, json={"items": list(self.datasets.values())})
        if (method, path) == ("POST", "/api/v1/datasets"):
            ds = copy.deepcopy(fixture("dataset.json")) | body
            ds |= {"id": str(uuid.uuid4()), "status": "draft"}
            self.datasets[ds["id"]] = ds
            self.children[ds["id"]] = {"fields": [], "questions": [], "metadata-properties": []}
            self.records[ds["id"]] = {}
            return httpx.Response(201, json=ds)
        if m := re.fullmatch(r"/api/v1/datasets/([\w-]+)", path):
            if m[1] not in self.datasets:
                return httpx.Response(404, json={"detail": f"Dataset with id `{m[1]}` not found"})
            if method == "PATCH":
                self.datasets[m[1]] |= {k: v for k, v in body.items() if k != "id"}
            return httpx.Response(200, json=self.datasets[m[1]])
        if m := re.fullmatch(r"/api/v1/datasets/([\w-]+)/publish", path):
            self.datasets[m[1]]["status"] = "ready"
            return httpx.Response(200, json=self.datasets[m[1]])
        if m := re.fullmatch(
            r"/api/v1/(?:me/)?datasets/([\w-]+)/(fields|questions|metadata-properties)", path
        ):
            items = self.children[m[1]][m[2]]
            if method == "POST":
                items.append(self._created(body, m[1]))
                return httpx.Response(201, json=items[-1])
            return httpx.Response(200, json={"items": items})
        if re.fullmatch(r"/api/v1/datasets/([\w-]+)/vectors-settings", path):
            return httpx.Response(200, json={"items": []})
        if m := re.fullmatch(r"/api/v1/datasets/([\w-]+)/records/bulk", path):
            return self._upsert(m[1], body["items"])
        if m := re.fullmatch(r"/api/v1/datasets/([\w-]+)/records", path):
            offset, limit = (
                int(request.url.params.get("offset", 0)),
                int(request.url.params.get("limit", 100)),
            )
            items = list(self.records[m[1]].values())
            return httpx.Response(200, json={"items": items[offset : offset + limit], "total": len(items)})
        return httpx.Response(404, json={"detail": f"fake: no route {method} {path}"})

    def _upsert(self, dataset_id: str, items: list[dict]) -> httpx.Response:
        stored, updated = self.records[dataset_id], []
        question_ids = {q["name"]: q["id"] for q in self.children[dataset_id]["questions"]}
        for item in items:
            old = stored.get(item["external_id"])
            if old:
                updated.append(old["id"])
            record = {
                "id": old["id"] if old else str(uuid.uuid4()),
                "status": "pending",
                "fields": item["fields"],
                "metadata": item.get("metadata") or {},
                "external_id": item["external_id"],
                "responses": old["responses"] if old else [],
                "suggestions": [
                    {k: v for k, v in s.items() if k != "question_name"}
                    | {"id": str(uuid.uuid4()), "question_id": question_ids[s["question_name"]]}
                    for s in item["suggestions"]
                ],
                "vectors": {},
                "dataset_id": dataset_id,
                "inserted_at": NOW,
                "updated_at": NOW,
            }
            stored[item["external_id"]] = record
        return httpx.Response(200, json={"items": list(stored.values()), "updated_item_ids": updated})

    def submit(self, external_id: str, username: str, values: dict | None = None, status="submitted") -> None:
        """An annotator answers a record in the Argilla UI (the recorded response shape)."""
        user = next(u for u in self.users["items"] if u["username"] == username)
        for records in self.records.values():
            if external_id in records:
                response = fixture("response_submitted.json")
                response |= {"id": str(uuid.uuid4()), "record_id": records[external_id]["id"]}
                response |= {"user_id": user["id"], "status": status}
                if values is not None:
                    response["values"] = {k: {"value": v} for k, v in values.items()}
                records[external_id]["responses"].append(response)


@pytest.fixture
def fake():
    server = FakeArgilla()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.route().mock(side_effect=server.handle)
        yield server


@pytest.fixture
def client(fake):
    return rg.Argilla(api_url=BASE, api_key="rd.apikey.redacted")


# --- mapping with the SDK's classes ---------------------------------------------------------------


def test_questions_map_to_argilla_classes_with_guidelines(client):
    settings = am.build_settings(SPEC, overlap_k=3, client=client)
    questions = {q.name: q for q in settings.questions}
    assert isinstance(questions["correctness"], rg.RatingQuestion)
    assert questions["correctness"].values == [1, 2, 3, 4, 5]
    assert questions["correctness"].description == "5 = fully correct"
    assert isinstance(questions["issue_type"], rg.LabelQuestion)
    assert questions["issue_type"].labels == ["none", "wrong_policy", "other"]
    assert isinstance(questions["tags"], rg.MultiLabelQuestion) and questions["tags"].required is False
    assert isinstance(questions["notes"], rg.TextQuestion)
    assert questions["notes"].description == "What a better answer says."
    assert [f.name for f in settings.fields] == ["input", "output", "context"]
    assert all(isinstance(f, rg.TextField) for f in settings.fields)
    assert {m.name for m in settings.metadata} >= {"segment", "release", "model"}
    assert settings.distribution == rg.TaskDistribution(min_submitted=3)
    settings.validate()  # the SDK's own checks (names unique, not empty)


def test_rating_anchors_travel_in_the_argilla_description(client):
    anchored = RubricSpec.from_dicts(
        "acme-support",
        [
            {"key": "tone", "kind": "rating", "min": 1, "max": 5, "guidelines": "Friendly, direct.",
             "anchors": {"5": "Exemplary", "1": "Rude or robotic"}},
            {"key": "groundedness", "kind": "rating", "anchors": {"3": "Partly supported"}},
        ],
    )  # fmt: skip
    questions = {q.name: q for q in am.build_settings(anchored, overlap_k=1, client=client).questions}
    assert questions["tone"].description == "Friendly, direct.\n1 = Rude or robotic\n5 = Exemplary"
    assert questions["groundedness"].description == "3 = Partly supported"
    assert questions["tone"].values == [1, 2, 3, 4, 5]


def test_a_pairwise_question_stays_on_the_desk(client):
    spec = RubricSpec.from_dicts(
        "mig", [{"key": "correctness", "kind": "rating"}, {"key": "better", "kind": "pairwise"}]
    )
    settings = am.build_settings(spec, overlap_k=1, client=client)
    assert [q.name for q in settings.questions] == ["correctness"]  # one output per record: no A/B here
    settings.validate()


def test_rating_outside_argilla_range_is_refused(client):
    spec = RubricSpec.from_dicts("wide", [{"key": "score", "kind": "rating", "min": 1, "max": 20}])
    with pytest.raises(ValidationFailed, match="0 to 10"):
        am.build_settings(spec, overlap_k=1, client=client)


def test_record_fields_metadata_and_suggestions():
    trace = {
        "external_id": "abc-1",
        "input": "Can I get a refund after 45 days?",
        "output": "Yes, within 60 days.",
        "context": [{"id": "policy-7", "score": 0.812, "text": "Refunds within 30 days."}],
        "segment": "refunds",
        "release": "r2",
        "model": "gpt-4o-mini",
    }
    verdicts = [
        am.VerdictView("correctness", 2, 0.9, "acme-judge@3"),
        am.VerdictView("issue_type", "wrong_policy", 1.7, "acme-judge@3"),  # score clipped to 1
        am.VerdictView("tags", ["refund", "bogus"], 0.5, "acme-judge@3"),  # does not fit: not suggested
        am.VerdictView("notes", None, None, "acme-judge@3"),  # no value: not suggested
    ]
    record = am.record_for(trace, spec=SPEC, verdicts=verdicts, rubric_label="acme-support@1")
    assert isinstance(record, rg.Record) and record.id == "trace-abc-1"
    assert record.fields["context"] == "[policy-7] (score 0.81)\nRefunds within 30 days."
    assert record.metadata["segment"] == "refunds" and record.metadata["model"] == "gpt-4o-mini"
    assert record.metadata["rubric"] == "acme-support@1"
    suggestions = {s.question_name: s for s in record.suggestions}
    assert set(suggestions) == {"correctness", "issue_type"}
    assert suggestions["correctness"].value == 2 and suggestions["correctness"].score == 0.9
    assert suggestions["correctness"].agent == "acme-judge@3" and suggestions["correctness"].type == "model"
    assert suggestions["issue_type"].score == 1.0
    assert am.external_id_of(record.id) == "abc-1" and am.external_id_of("other-1") is None
    assert am.render_context([]) == am.NO_CONTEXT


def test_responses_to_answers_submitted_only_and_checked():
    rita, raj, lena = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    responses = [
        rg.Response("correctness", 4, user_id=rita, status="submitted"),
        rg.Response("issue_type", "none", user_id=rita, status="submitted"),
        rg.Response("notes", "fine", user_id=rita, status="submitted"),
        rg.Response("correctness", 2, user_id=raj, status="draft"),
        rg.Response("correctness", 9, user_id=lena, status="submitted"),
        rg.Response("issue_type", "none", user_id=lena, status="submitted"),
        rg.Response("notes", "x", user_id=lena, status="submitted"),
    ]
    record = rg.Record(id="trace-1", fields={"input": "q", "output": "a"}, responses=responses)
    pulled = {p.user_id: p for p in am.responses_from_record(record, SPEC)}
    assert set(pulled) == {rita, lena}  # the draft is not a label
    assert pulled[rita].answers == {"correctness": 4, "issue_type": "none", "tags": None, "notes": "fine"}
    assert pulled[rita].problem is None
    assert "outside 1..5" in pulled[lena].problem


# --- push / pull against the recorded exchanges ----------------------------------------------------


KEY = "rd.apikey.redacted"


def test_push_then_pull_round_trip(fake, demo_engine):
    desk = Desk(demo_engine)
    report = desk.argilla.push(
        actor=SYSTEM, dataset="acme-review", workspace="acme-support", limit=5, api_url=BASE, api_key=KEY
    )
    assert report.created_dataset and report.records == 5 and report.rubric.startswith("acme-support@")
    [ds] = fake.datasets.values()
    assert ds["status"] == "ready" and ds["distribution"] == {"strategy": "overlap", "min_submitted": 2}
    names = [q["name"] for q in fake.children[ds["id"]]["questions"]]
    assert names == ["correctness", "groundedness", "tone", "issue_type", "notes"]
    kinds = {q["name"]: q["settings"]["type"] for q in fake.children[ds["id"]]["questions"]}
    assert kinds == {"correctness": "rating", "groundedness": "rating", "tone": "rating",
                     "issue_type": "label_selection", "notes": "text"}  # fmt: skip
    records = fake.records[ds["id"]]
    assert len(records) == 5 and all(k.startswith("trace-") for k in records)
    with read_session(demo_engine) as session:
        open_items = session.exec(
            select(Trace.external_id)
            .join(ReviewItem, col(ReviewItem.trace_id) == col(Trace.id))
            .where(ReviewItem.queue == "sampled", ReviewItem.status == "open")
            .order_by(col(ReviewItem.priority).desc(), col(ReviewItem.created_at), col(ReviewItem.id))
            .limit(5)
        ).all()
    assert list(records) == [f"trace-{e}" for e in open_items]
    first = records[f"trace-{open_items[0]}"]
    with read_session(demo_engine) as session:
        trace = session.exec(select(Trace).where(Trace.external_id == open_items[0])).one()
        assert first["fields"]["input"] == trace.input and first["fields"]["output"] == trace.output
        assert first["metadata"]["segment"] == trace.segment and first["metadata"]["release"] == trace.release
    agents = {s["agent"] for r in records.values() for s in r["suggestions"]}
    assert agents and all(re.fullmatch(r".+@\d+", a) for a in agents)

    # push again: same records upserted, nothing new on the server
    again = desk.argilla.push(
        actor=SYSTEM, dataset="acme-review", workspace="acme-support", limit=5, api_url=BASE, api_key=KEY
    )
    assert not again.created_dataset and len(fake.records[ds["id"]]) == 5 and len(fake.datasets) == 1

    e0, e1 = open_items[0], open_items[1]
    fake.submit(f"trace-{e0}", "rita")
    fake.submit(f"trace-{e0}", "rajesh.nair")
    fake.submit(f"trace-{e1}", "contractor-17")  # no such reviewer here
    fake.submit(f"trace-{e1}", "rita", status="draft")  # not submitted: ignored
    pulled = desk.argilla.pull(
        actor=SYSTEM, dataset="acme-review", workspace="acme-support", user_map={"rajesh.nair": "raj"},
        api_url=BASE, api_key=KEY,
    )  # fmt: skip
    assert pulled.records_seen == 5 and pulled.inserted == 2 and pulled.already_present == 0
    assert pulled.unknown_users == ("contractor-17",) and pulled.invalid == ()
    with read_session(demo_engine) as session:
        labels = session.exec(select(Label).where(Label.source == "argilla")).all()
        assert len(labels) == 2
        assert {lab.answers["correctness"] for lab in labels} == {4}
        assert labels[0].answers["issue_type"] == "none" and labels[0].answers["notes"] is None
        item = session.get(ReviewItem, labels[0].item_id)
        assert item.labels_done == 2 and item.status == "done"
        actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.seq).desc()).limit(3)).all()
        assert actions == ["argilla.pull", "argilla.push", "argilla.push"]

    again = desk.argilla.pull(
        actor=SYSTEM, dataset="acme-review", workspace="acme-support", user_map={"rajesh.nair": "raj"},
        api_url=BASE, api_key=KEY,
    )  # fmt: skip
    assert again.inserted == 0 and again.already_present == 2
    with read_session(demo_engine) as session:
        assert len(session.exec(select(Label.id).where(Label.source == "argilla")).all()) == 2
    assert ("PUT", f"/api/v1/datasets/{ds['id']}/records/bulk") in fake.calls


def test_permissions_and_missing_dataset(fake, demo_engine):
    from review_store.errors import NotFound
    from review_store.models import User

    desk = Desk(demo_engine)
    with read_session(demo_engine) as session:
        rita_id = session.exec(select(User.id).where(User.username == "rita")).one()
    reviewer = Actor("rita", "reviewer", id=rita_id)
    with pytest.raises(PermissionDenied):
        desk.argilla.push(actor=reviewer, dataset="x", api_url=BASE, api_key=KEY)
    with pytest.raises(PermissionDenied):  # a forged role is re-read from the database
        desk.argilla.push(actor=Actor("rita", "admin", id=rita_id), dataset="x", api_url=BASE, api_key=KEY)
    with pytest.raises(PermissionDenied):
        desk.argilla.pull(actor=reviewer, dataset="x", api_url=BASE, api_key=KEY)
    assert not fake.datasets
    with pytest.raises(NotFound, match="nope"):
        desk.argilla.pull(actor=SYSTEM, dataset="nope", workspace="acme-support", api_url=BASE, api_key=KEY)


def test_cli_push_and_pull(fake, demo_db_url, tmp_path, monkeypatch):
    from review_store.cli import app

    monkeypatch.setenv("ARGILLA_API_URL", BASE)
    monkeypatch.setenv("ARGILLA_API_KEY", "rd.apikey.redacted")
    runner = CliRunner()
    result = runner.invoke(
        app, ["--db", demo_db_url, "argilla", "push", "--dataset", "acme-review", "--workspace", "acme-support", "--limit", "3", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"] == 3
    first = next(iter(next(iter(fake.records.values()))))
    fake.submit(first, "rita")
    user_map = tmp_path / "users.json"
    user_map.write_text(json.dumps({"rajesh.nair": "raj"}))
    result = runner.invoke(
        app, ["--db", demo_db_url, "argilla", "pull", "--dataset", "acme-review", "--workspace", "acme-support",
              "--user-map", str(user_map), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 1
    user_map.write_text("{not json")
    result = runner.invoke(app, ["--db", demo_db_url, "argilla", "pull", "--dataset", "acme-review", "--user-map", str(user_map)])  # fmt: skip
    assert result.exit_code == 2 and "users.json" in result.output


def test_connect_needs_url_and_key(monkeypatch):
    monkeypatch.delenv("ARGILLA_API_URL", raising=False)
    monkeypatch.delenv("ARGILLA_API_KEY", raising=False)
    with pytest.raises(ValidationFailed, match="ARGILLA_API_URL"):
        connect()


@pytest.mark.skipif(
    not (os.environ.get("ARGILLA_API_URL") and os.environ.get("ARGILLA_API_KEY")),
    reason="ARGILLA_API_URL/ARGILLA_API_KEY not set: no real Argilla server (it needs Elasticsearch/OpenSearch)",
)
def test_real_server_push_pull(demo_engine):
    real = connect()
    desk = Desk(demo_engine)
    name = f"rd-test-{uuid.uuid4().hex[:8]}"
    report = desk.argilla.push(actor=SYSTEM, dataset=name, limit=3)
    assert report.created_dataset and report.records == 3
    again = desk.argilla.push(actor=SYSTEM, dataset=name, limit=3)
    assert not again.created_dataset
    ds = real.datasets(name=name)
    assert len(list(ds.records)) == 3
    pulled = desk.argilla.pull(actor=SYSTEM, dataset=name)
    assert pulled.records_seen == 3 and pulled.inserted == 0
    ds.delete()
