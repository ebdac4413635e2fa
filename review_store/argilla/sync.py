"""Push a review queue to an Argilla 2.x dataset and pull submitted responses back as labels.

A labelling organisation works in Argilla; the store stays the system of record. Both directions are
idempotent: records are upserted by id `trace-<external id>`, and a pulled response whose (item,
reviewer) label already exists is skipped. Argilla usernames map to local reviewers through a dict
(`user_map`) or by the same username; unknown users are reported, never created. The pure mapping lives
in `review_store.argilla_mapping`. Argilla needs a server with Elasticsearch/OpenSearch (see README).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from review_store import audit, rubrics
from review_store.argilla.mapping import (
    VerdictView,
    build_settings,
    external_id_of,
    record_for,
    responses_from_record,
)
from review_store.db import read_session, session_scope
from review_store.errors import NotFound, ValidationFailed
from review_store.models import JudgeConfig, JudgeVerdict, Label, ReviewItem, Rubric, Trace, User
from review_store.permissions import Actor, require

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import argilla as rg


def connect(api_url: str | None = None, api_key: str | None = None, **http_args: Any) -> rg.Argilla:
    """An Argilla client (the SDK calls GET /api/v1/me at once); URL/key default to ARGILLA_API_*."""
    url = api_url or os.environ.get("ARGILLA_API_URL")
    key = api_key or os.environ.get("ARGILLA_API_KEY")
    if not url or not key:
        raise ValidationFailed(
            "Argilla: set ARGILLA_API_URL and ARGILLA_API_KEY (or pass --api-url/--api-key)"
        )
    return rg.Argilla(api_url=url, api_key=key, **http_args)


@dataclass
class PushReport:
    dataset: str
    workspace: str | None
    created_dataset: bool = False
    records: int = 0
    suggestions: int = 0
    overlap_k: int = 1
    rubric: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PullReport:
    dataset: str
    records_seen: int = 0
    inserted: int = 0
    already_present: int = 0
    unknown_users: list[str] = field(default_factory=list)
    unknown_records: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rubric(session: Session, name: str | None) -> Rubric:
    if name:
        if "@" in name:
            base, _, version = name.rpartition("@")
            row = session.exec(
                select(Rubric).where(Rubric.name == base, Rubric.version == int(version))
            ).first()
            if row is None:
                raise NotFound(f"no rubric {name}")
            return row
        return rubrics.latest(session, name)
    row = session.exec(select(Rubric).order_by(col(Rubric.id).desc()).limit(1)).first()
    if row is None:
        raise NotFound("no rubric in the store; create one first")
    return row


def _verdicts(session: Session, trace_ids: list[int]) -> dict[int, list[VerdictView]]:
    """Per trace, one verdict per question: the newest judge config's (Argilla takes one suggestion each)."""
    rows = session.exec(
        select(JudgeVerdict, JudgeConfig)
        .join(JudgeConfig, col(JudgeVerdict.judge_config_id) == col(JudgeConfig.id))
        .where(col(JudgeVerdict.trace_id).in_(trace_ids), col(JudgeVerdict.error).is_(None))
        .order_by(col(JudgeConfig.id), col(JudgeVerdict.id))
    ).all()
    chosen: dict[tuple[int, str], VerdictView] = {}
    for verdict, config in rows:
        chosen[(verdict.trace_id, verdict.question_key)] = VerdictView(
            verdict.question_key, verdict.value, verdict.confidence, f"{config.name}@{config.version}"
        )
    out: dict[int, list[VerdictView]] = {}
    for (trace_id, _), view in chosen.items():
        out.setdefault(trace_id, []).append(view)
    return out


def _dataset(client: rg.Argilla, name: str, workspace: str | None) -> rg.Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not found" is a warning in the SDK; we return None
        return client.datasets(name=name, workspace=workspace)


def push_queue(
    engine: Engine,
    client: rg.Argilla,
    *,
    actor: Actor,
    dataset: str,
    workspace: str | None = None,
    queue: str = "sampled",
    limit: int | None = None,
    rubric: str | None = None,
) -> PushReport:
    """Upsert the queue's open items (highest priority first) as records; create the dataset if needed.

    The dataset's overlap (min_submitted) is the largest overlap_k among the pushed items; an existing
    dataset keeps its settings. Needs `export_data`.
    """
    require(actor, "export_data")
    with read_session(engine) as session:
        rubric_row = _rubric(session, rubric)
        spec = rubrics.spec_of(rubric_row)
        query = (
            select(ReviewItem, Trace)
            .join(Trace, col(ReviewItem.trace_id) == col(Trace.id))
            .where(ReviewItem.queue == queue, ReviewItem.status == "open")
            .order_by(col(ReviewItem.priority).desc(), col(ReviewItem.created_at), col(ReviewItem.id))
        )
        if limit:
            query = query.limit(limit)
        rows = session.exec(query).all()
        verdicts = _verdicts(session, [t.id for _, t in rows]) if rows else {}
        label = f"{rubric_row.name}@{rubric_row.version}"
        overlap_k = max((item.overlap_k for item, _ in rows), default=1)
        traces = [t.model_dump() for _, t in rows]
    report = PushReport(dataset=dataset, workspace=workspace, rubric=label, overlap_k=overlap_k)
    records = [
        record_for(t, spec=spec, verdicts=verdicts.get(t["id"], []), queue=queue, rubric_label=label)
        for t in traces
    ]
    ds = _dataset(client, dataset, workspace)
    if ds is None:
        settings = build_settings(spec, overlap_k=report.overlap_k, client=client)
        ds = rg.Dataset(name=dataset, workspace=workspace, settings=settings, client=client)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.create()
        report.created_dataset = True
    if records:
        ds.records.log(records)
    report.records = len(records)
    report.suggestions = sum(len(r.suggestions) for r in records)
    with session_scope(engine) as session:
        audit.record(
            session, actor=actor, action="argilla.push", entity="argilla_dataset", entity_id=dataset,
            payload=report.as_dict() | {"queue": queue},
        )  # fmt: skip
    return report


def _argilla_usernames(client: rg.Argilla) -> dict[str, str]:
    return {str(u.id): u.username for u in client.api.users.list()}


def pull_responses(
    engine: Engine,
    client: rg.Argilla,
    *,
    actor: Actor,
    dataset: str,
    workspace: str | None = None,
    user_map: dict[str, str] | None = None,
) -> PullReport:
    """Submitted responses -> Label rows (source="argilla") in one transaction; re-running adds nothing.

    Each record's rubric and queue come from its metadata. Unknown Argilla users, records whose trace
    or review item is not in the store, and answers that do not fit the rubric are reported. Needs
    `import_data`.
    """
    require(actor, "import_data")
    ds = _dataset(client, dataset, workspace)
    if ds is None:
        raise NotFound(f"Argilla dataset {dataset!r} not found" + (f" in {workspace!r}" if workspace else ""))
    names = _argilla_usernames(client)
    mapping = user_map or {}
    report = PullReport(dataset=dataset)
    with session_scope(engine) as session:
        reviewers = {u.username: u for u in session.exec(select(User)).all()}
        specs: dict[str, tuple[Rubric, Any]] = {}
        for record in ds.records(with_responses=True, with_suggestions=False):
            report.records_seen += 1
            external = external_id_of(str(record.id))
            meta = dict(record.metadata or {})
            queue = meta.get("queue") or "sampled"
            item = None
            if external is not None:
                item = session.exec(
                    select(ReviewItem)
                    .join(Trace, col(ReviewItem.trace_id) == col(Trace.id))
                    .where(Trace.external_id == external, ReviewItem.queue == queue)
                ).first()
            if item is None:
                report.unknown_records.append(str(record.id))
                continue
            key = str(meta.get("rubric") or "")
            if key not in specs:
                row = _rubric(session, key or None)
                specs[key] = (row, rubrics.spec_of(row))
            rubric_row, spec = specs[key]
            for pulled in responses_from_record(record, spec):
                remote = names.get(str(pulled.user_id), str(pulled.user_id))
                user = reviewers.get(mapping.get(remote, remote))
                if user is None:
                    if remote not in report.unknown_users:
                        report.unknown_users.append(remote)
                    continue
                if pulled.problem:
                    report.invalid.append(f"{record.id} by {remote}: {pulled.problem}")
                    continue
                exists = session.exec(
                    select(Label.id).where(Label.item_id == item.id, Label.reviewer_id == user.id)
                ).first()
                if exists is not None:
                    report.already_present += 1
                    continue
                session.add(
                    Label(
                        item_id=item.id, reviewer_id=user.id, rubric_id=rubric_row.id,
                        answers=pulled.answers, source="argilla",
                    )
                )  # fmt: skip
                item.labels_done += 1
                if item.status == "open" and item.labels_done >= item.overlap_k:
                    item.status = "done"
                session.add(item)
                report.inserted += 1
        session.flush()
        audit.record(
            session, actor=actor, action="argilla.pull", entity="argilla_dataset", entity_id=dataset,
            payload=report.as_dict(),
        )  # fmt: skip
    return report
