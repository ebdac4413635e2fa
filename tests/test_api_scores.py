"""External scores over HTTP: an external evaluator is just another rater (a judge config with model
"external"), so the agreement endpoint and the facade give its trust verdict like the LLM judge's;
batches are all or nothing, retries idempotent, a changed score refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from review_store.desk import Desk, ValidationFailed
from review_store.models import JudgeVerdict, Label, ReviewItem, Trace
from tests.api_server import api_key, client, running_api


@pytest.fixture
def desk(demo_db_url, pinned_clock) -> Desk:
    return Desk.open(demo_db_url, clock=pinned_clock)


def _human_scores(desk: Desk, n: int) -> list[dict]:
    """One labelled answer per done item (what a good external evaluator would say)."""
    with Session(desk.engine) as s:
        rows = s.exec(
            select(Trace.external_id, Label.answers)
            .join(ReviewItem, ReviewItem.id == Label.item_id)
            .join(Trace, Trace.id == ReviewItem.trace_id)
            .where(ReviewItem.status == "done")
            .order_by(Label.id)
        ).all()
    out, seen = [], set()
    for external_id, answers in rows:
        if external_id not in seen and "correctness" in answers:  # not a shadow review's pairwise-only label
            seen.add(external_id)
            out.append({"trace_id": external_id, "question": "correctness", "value": answers["correctness"]})
    return out[:n]


def _verdicts(desk: Desk) -> int:
    with Session(desk.engine) as s:
        return s.exec(select(func.count()).select_from(JudgeVerdict)).one()


def test_external_scores_are_a_rater_with_a_trust_verdict(desk) -> None:
    scores = _human_scores(desk, 120)
    before = _verdicts(desk)
    with running_api(desk) as base, client(base, api_key(desk, "lena")) as c:
        r = c.post("/api/v1/scores", json={"evaluator": "ragas", "scores": scores})
        assert r.status_code == 201, r.text
        assert r.json() == {"evaluator": "ragas@1", "stored": 120, "unchanged": 0}
        retry = c.post("/api/v1/scores", json={"evaluator": "ragas", "scores": scores[:10]})
        assert retry.json() == {"evaluator": "ragas@1", "stored": 0, "unchanged": 10}
        trust = c.get("/api/v1/agreement/trust", params={"judge": "ragas@1", "question": "correctness"})
        assert trust.status_code == 200
        assert trust.json() == desk.agreement.trust(judge="ragas@1", question="correctness").to_json()
        assert trust.json()["n_items"] == 120 and trust.json()["alpha"] > 0.8
        changed = {**scores[0], "value": 6 - scores[0]["value"]}
        r = c.post("/api/v1/scores", json={"evaluator": "ragas", "scores": [changed]})
        assert r.status_code == 409 and "not changed after it is stored" in r.json()["error"]["message"]
    assert _verdicts(desk) == before + 120
    with pytest.raises(ValidationFailed, match="external evaluator"):
        desk.judge.run(actor=desk.users.acting(as_user=None, token=None, origin="t"), config="ragas")


def test_bad_score_batches_store_nothing(desk) -> None:
    good = _human_scores(desk, 3)
    lena, admin = api_key(desk, "lena"), api_key(desk, "adam")
    before = _verdicts(desk)
    with running_api(desk) as base, client(base, lena) as c:
        cases = [
            ([good[0], {**good[1], "value": 9}], "scores[1].value"),
            ([good[0], {**good[1], "trace_id": "no-such-trace"}], "scores[1].trace_id"),
            ([good[0], {**good[1], "question": "vibes"}], "scores[1].question"),
            ([{**good[0], "confidence": 2}], "body.scores.0.confidence"),
            ([{**good[0], "extra": 1}], "body.scores.0.extra"),
            ([], "body.scores"),
        ]
        for batch, field in cases:
            r = c.post("/api/v1/scores", json={"evaluator": "ragas", "scores": batch})
            assert r.status_code == 400, (field, r.text)
            assert r.json()["error"]["field"] == field, r.json()
        r = c.post("/api/v1/scores", json={"evaluator": "acme-judge", "scores": good})
        assert r.status_code == 409 and "LLM judge" in r.json()["error"]["message"]
        with client(base, api_key(desk, "rita")) as reviewer:
            assert reviewer.post("/api/v1/scores", json={"evaluator": "x", "scores": good}).status_code == 403
        with client(base, admin) as adm:  # registering a new rater is a lead's decision
            r = adm.post("/api/v1/scores", json={"evaluator": "vendor", "scores": good})
            assert r.status_code == 403 and "edit judges" in r.json()["error"]["message"]
    assert _verdicts(desk) == before
    assert all(c.name != "ragas" for c in desk.judge.configs())
