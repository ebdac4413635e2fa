"""/api/v1/releases and /api/v1/evals: register, gate, sign off, roll out, roll back, route, evidence.

The gate answers 200 when every threshold passes and 409 when one fails, with the same JSON body either
way, so a pipeline gates a release with one call: `curl --fail .../releases/r3/gate`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from review_store.api.auth import ActorDep, Caller, DeskDep
from review_store.desk.release_views import (
    ApprovalView,
    DeploymentStepView,
    EvalRunView,
    GateView,
    ReleaseDetail,
    ReleaseList,
    RollbackView,
    Routing,
)

router = APIRouter(tags=["releases"])


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRelease(Request):
    manifest: str | dict[str, Any] = Field(
        description="The release manifest: YAML or JSON text, or a JSON object (prompts, models, retrieval, ...)"
    )
    name: str | None = Field(default=None, max_length=120, description="Default: the manifest's `name:`.")
    parent: str | None = Field(default=None, max_length=120)
    notes: str | None = Field(default=None, max_length=10_000)


class Approve(Request):
    comment: str = Field(min_length=1, max_length=10_000)
    override_reason: str | None = Field(default=None, max_length=10_000)
    seen_evidence_hash: str | None = Field(
        default=None,
        max_length=64,
        description="The gate's evidence_hash you reviewed (refused if it changed).",
    )


class Reject(Request):
    comment: str = Field(min_length=1, max_length=10_000)


class HealthCheck(Request):
    healthy: bool | None = Field(default=None, description="Omit to let the rollback rule decide.")
    note: str = Field(default="", max_length=10_000)


class Rollback(Request):
    reason: str = Field(default="", max_length=10_000)


class EvalRun(Request):
    metrics: dict[str, float | dict[str, Any]] = Field(
        description="{metric: number | {value, judge?, question?, segment?}}"
    )
    golden_set_version: str = Field(default="", max_length=64)
    source: str = Field(default="api", max_length=120)


@router.get("/releases", response_model=ReleaseList, summary="Every release, with the live and known-good")
def list_releases(desk: DeskDep, _: Caller) -> ReleaseList:
    return desk.releases.list()


@router.post(
    "/releases",
    response_model=ReleaseDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Register a candidate from a manifest",
)
def create_release(body: CreateRelease, desk: DeskDep, actor: ActorDep) -> ReleaseDetail:
    text = body.manifest if isinstance(body.manifest, str) else json.dumps(body.manifest)
    return desk.releases.create(
        actor=actor,
        manifest_text=text,
        source="body.manifest",
        name=body.name,
        parent=body.parent,
        notes=body.notes,
    )


@router.get("/releases/live", response_model=Routing, summary="Where traffic should go now")
def live(desk: DeskDep, _: Caller) -> Routing:
    """The release the serving layer should route to (and a canary's share while one deploys). After a
    rollback this is the known-good release again: a gateway polling it flips back without a deploy."""
    return desk.releases.routing()


@router.post("/releases/rollback", response_model=RollbackView, summary="Put the known-good release back")
def rollback(body: Rollback, desk: DeskDep, actor: ActorDep) -> RollbackView:
    return desk.releases.rollback(actor=actor, reason=body.reason)


@router.get("/releases/{name}", response_model=ReleaseDetail, summary="One release")
def get_release(name: str, desk: DeskDep, _: Caller) -> ReleaseDetail:
    return desk.releases.get(name)


@router.get(
    "/releases/{name}/gate",
    response_model=GateView,
    summary="The gate: 200 when every threshold passes, 409 when one fails",
    responses={409: {"model": GateView, "description": "A threshold failed (the same JSON, passed=false)."}},
)
def gate(name: str, desk: DeskDep, _: Caller) -> Any:
    view = desk.releases.gate(name)
    if view.passed:
        return view
    return JSONResponse(view.to_json(), status_code=status.HTTP_409_CONFLICT)


@router.get("/releases/{name}/evals", response_model=tuple[EvalRunView, ...], summary="Its eval runs")
def eval_runs(name: str, desk: DeskDep, _: Caller) -> tuple[EvalRunView, ...]:
    return desk.releases.eval_runs(name)


@router.post(
    "/releases/{name}/evals",
    response_model=EvalRunView,
    status_code=status.HTTP_201_CREATED,
    summary="Attach one eval run",
)
def record_eval(name: str, body: EvalRun, desk: DeskDep, actor: ActorDep) -> EvalRunView:
    return desk.releases.record_eval(
        actor=actor,
        release=name,
        metrics=body.metrics,
        golden_set_version=body.golden_set_version,
        source=body.source,
    )


@router.post("/releases/{name}/approve", response_model=ApprovalView, summary="Approve, as the key's user")
def approve(name: str, body: Approve, desk: DeskDep, actor: ActorDep) -> ApprovalView:
    return desk.releases.approve(
        actor=actor,
        release=name,
        comment=body.comment,
        override_reason=body.override_reason,
        seen_evidence_hash=body.seen_evidence_hash,
    )


@router.post("/releases/{name}/reject", response_model=ApprovalView, summary="Reject, as the key's user")
def reject(name: str, body: Reject, desk: DeskDep, actor: ActorDep) -> ApprovalView:
    return desk.releases.reject(actor=actor, release=name, comment=body.comment)


@router.post(
    "/releases/{name}/promote", response_model=DeploymentStepView, summary="Next canary stage (5/25/50/100 %)"
)
def promote(name: str, desk: DeskDep, actor: ActorDep) -> DeploymentStepView:
    return desk.releases.promote(actor=actor, release=name)


@router.post(
    "/releases/{name}/health-check",
    response_model=DeploymentStepView,
    summary="Post-deploy check at 100 % (passing makes it known-good)",
)
def health_check(name: str, body: HealthCheck, desk: DeskDep, actor: ActorDep) -> DeploymentStepView:
    return desk.releases.health_check(actor=actor, release=name, healthy=body.healthy, note=body.note)


@router.post(
    "/evals/import",
    response_model=tuple[EvalRunView, ...],
    status_code=status.HTTP_201_CREATED,
    summary="Import an eval job's JSON (one run or a list), all or nothing",
)
def import_evals(
    desk: DeskDep,
    actor: ActorDep,
    body: dict[str, Any] | list[Any] = Body(
        description='{"release": "r3", "metrics": {...}, "golden_set_version": "...", "source": "..."} or a list'
    ),
) -> tuple[EvalRunView, ...]:
    return desk.releases.import_evals(actor=actor, text=json.dumps(body), source="body")
