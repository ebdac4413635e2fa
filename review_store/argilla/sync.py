"""Push a review queue to an Argilla 2.x dataset and pull submitted responses back as labels.

A labelling organisation works in Argilla; the store stays the system of record. Both directions are
idempotent: records are upserted by id `trace-<external id>`, and a pulled response whose (item,
reviewer) label already exists is skipped. The steps are split so no transaction stays open during an
HTTP call: plan_push (read) -> send_push (HTTP) -> record_push (audit); fetch_pull (HTTP) -> apply_pull
(one write transaction). `review_store.desk.argilla` composes them. Argilla usernames map to local reviewers through a dict
(`user_map`) or by the same username; unknown users are reported, never created. The pure mapping lives
in `review_store.argilla.mapping`. Argilla needs a server with Elasticsearch/OpenSearch (see README).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from review_store import audit, rubrics
from review_store.argilla.mapping import (
    VerdictView,
    build_settings,
    external_id_of,
    record_for,
    responses_from_record,
)
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


@dataclass
class PushPlan:
    """What a push sends: the records built from the store, before any HTTP call."""

    queue: str
    rubric: str
    spec: Any
    overlap_k: int
    records: list[Any]


def plan_push(
    session: Session,
    *,
    actor: Actor,
    queue: str = "sampled",
    limit: int | None = None,
    rubric: str | None = None,
) -> PushPlan:
    """The queue's open items (highest priority first) as Argilla records, with the judge's verdicts as
    suggestions. Needs `export_data`."""
    require(actor, "export_data")
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
    records = [
        record_for(
            t.model_dump(), spec=spec, verdicts=verdicts.get(t.id, []), queue=queue, rubric_label=label
        )
        for _, t in rows
    ]
    overlap_k = max((item.overlap_k for item, _ in rows), default=1)
    return PushPlan(queue=queue, rubric=label, spec=spec, overlap_k=overlap_k, records=records)


def send_push(
    client: rg.Argilla, plan: PushPlan, *, dataset: str, workspace: str | None = None
) -> PushReport:
    """Upsert the plan's records (by id, so repeating is safe); create the dataset if missing.

    The dataset's overlap (min_submitted) is the plan's largest overlap_k; an existing dataset keeps its
    settings. No database work happens here."""
    report = PushReport(dataset=dataset, workspace=workspace, rubric=plan.rubric, overlap_k=plan.overlap_k)
    ds = _dataset(client, dataset, workspace)
    if ds is None:
        settings = build_settings(plan.spec, overlap_k=report.overlap_k, client=client)
        ds = rg.Dataset(name=dataset, workspace=workspace, settings=settings, client=client)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.create()
        report.created_dataset = True
    if plan.records:
        ds.records.log(plan.records)
    report.records = len(plan.records)
    report.suggestions = sum(len(r.suggestions) for r in plan.records)
    return report


def record_push(session: Session, *, actor: Actor, report: PushReport, queue: str) -> None:
    """The audit event of a push that reached the server."""
    audit.record(
        session, actor=actor, action="argilla.push", entity="argilla_dataset", entity_id=report.dataset,
        payload=report.as_dict() | {"queue": queue},
    )  # fmt: skip


def _argilla_usernames(client: rg.Argilla) -> dict[str, str]:
    return {str(u.id): u.username for u in client.api.users.list()}


@dataclass
class Fetched:
    """A dataset's records with their responses, read from the server before any transaction opens."""

    dataset: str
    records: list[Any]
    usernames: dict[str, str]


def fetch_pull(client: rg.Argilla, *, dataset: str, workspace: str | None = None) -> Fetched:
    """Every record of the dataset with its responses, and the server's user names (NotFound: no dataset)."""
    ds = _dataset(client, dataset, workspace)
    if ds is None:
        raise NotFound(f"Argilla dataset {dataset!r} not found" + (f" in {workspace!r}" if workspace else ""))
    records = list(ds.records(with_responses=True, with_suggestions=False))
    return Fetched(dataset=dataset, records=records, usernames=_argilla_usernames(client))


def apply_pull(
    session: Session, *, actor: Actor, fetched: Fetched, user_map: dict[str, str] | None = None
) -> PullReport:
    """Submitted responses -> Label rows (source="argilla"); re-running adds nothing. Needs `import_data`.

    Each record's rubric and queue come from its metadata. Unknown Argilla users, records whose trace
    or review item is not in the store, and answers that do not fit the rubric are reported.
    """
    require(actor, "import_data")
    names, mapping = fetched.usernames, user_map or {}
    report = PullReport(dataset=fetched.dataset)
    reviewers = {u.username: u for u in session.exec(select(User)).all()}
    specs: dict[str, tuple[Rubric, Any]] = {}
    for record in fetched.records:
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
        session, actor=actor, action="argilla.pull", entity="argilla_dataset", entity_id=fetched.dataset,
        payload=report.as_dict(),
    )  # fmt: skip
    return report
