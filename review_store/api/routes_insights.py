"""/api/v1/agreement, /api/v1/dashboards, /api/v1/audit: the numbers the pages show, read through the
facade (the trust verdict is THE rule the gate uses; dashboards read the same rollups as the Overview)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from review_store import clock
from review_store.api.auth import ActorDep, Caller, DeskDep
from review_store.desk import Desk, ValidationFailed
from review_store.desk.agreement_models import SegmentRow, TrustView
from review_store.desk.audit import ChainReport
from review_store.desk.dashboard_views import FilterOptions, Overview, Range

router = APIRouter()


@router.get(
    "/agreement/trust",
    response_model=TrustView,
    tags=["agreement"],
    summary="Judge vs humans on one question (and segment): THE trust verdict",
)
def trust(
    desk: DeskDep,
    _: Caller,
    judge: Annotated[str, Query(description="judge config: name or name@version")],
    question: Annotated[str, Query(description="rubric question key")],
    segment: str | None = None,
) -> TrustView:
    return desk.agreement.trust(judge=judge, question=question, segment=segment)


@router.get(
    "/agreement/segments",
    response_model=tuple[SegmentRow, ...],
    tags=["agreement"],
    summary="The trust verdict per segment, with the human-human ceiling",
)
def by_segment(
    desk: DeskDep,
    _: Caller,
    judge: str,
    question: str,
    resamples: Annotated[int, Query(ge=100, le=5000)] = 500,
) -> tuple[SegmentRow, ...]:
    return desk.agreement.by_segment(judge=judge, question=question, resamples=resamples)


def _now(desk: Desk) -> datetime:
    return (desk.clock or clock.current()).now()


@router.get(
    "/dashboards/overview",
    response_model=Overview,
    tags=["dashboards"],
    summary="Overview KPIs against the previous period, trends, drift and budget",
)
def overview(
    desk: DeskDep,
    _: Caller,
    start: Annotated[datetime | None, Query(description="ISO time (UTC); default: end - days")] = None,
    end: Annotated[datetime | None, Query(description="ISO time (UTC), exclusive; default: now")] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    release: str | None = None,
    segment: str | None = None,
    bucket: Annotated[str, Query(description="hour | day | week")] = "day",
) -> Overview:
    stop = clock.parse_instant(end.isoformat(), field="end") if end else _now(desk)
    begin = clock.parse_instant(start.isoformat(), field="start") if start else stop - timedelta(days=days)
    if begin >= stop:
        raise ValidationFailed("start: must be before end")
    return desk.dashboards.overview(
        range=Range(start=begin, end=stop, release=release, segment=segment), bucket=bucket
    )


@router.get(
    "/dashboards/filters",
    response_model=FilterOptions,
    tags=["dashboards"],
    summary="The data's time span, releases and segments",
)
def filters(desk: DeskDep, _: Caller) -> FilterOptions:
    return desk.dashboards.filter_options()


@router.get(
    "/audit/verify",
    response_model=ChainReport,
    tags=["audit"],
    summary="Walk the keyed audit chain: 200 intact, 409 broken",
    responses={409: {"model": ChainReport, "description": "The chain is broken (ok=false, first_bad_seq)."}},
)
def verify_chain(desk: DeskDep, actor: ActorDep) -> Any:
    return verify(desk, actor, None)


@router.post(
    "/audit/verify",
    response_model=ChainReport,
    tags=["audit"],
    summary="The same, also proving the chain still holds a signed checkpoint",
    responses={409: {"model": ChainReport, "description": "The chain is broken (ok=false, first_bad_seq)."}},
)
def verify(
    desk: DeskDep,
    actor: ActorDep,
    checkpoint: Annotated[
        dict[str, Any] | None,
        Body(description="A signed checkpoint (`review-desk audit checkpoint --out`) to prove against"),
    ] = None,
) -> Any:
    import json

    text = json.dumps(checkpoint) if checkpoint is not None else None
    report = desk.audit.verify(actor=actor, checkpoint_text=text, source="body.checkpoint")
    if report.ok:
        return report
    return JSONResponse(report.to_json(), status_code=409)
