"""create_app(desk) -> the FastAPI application: routers, error mapping, rate limits, OpenAPI docs."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from review_store.api import errors, otlp
from review_store.api.auth import Caller, DeskDep
from review_store.api.ratelimit import RateLimit, TokenBuckets
from review_store.desk import Desk
from review_store.desk.apikeys import ApiCaller
from review_store.desk.base import ReadModel

PREFIX = "/api/v1"

DESCRIPTION = """
The desk's store over HTTP. Every call under `/api/v1` (except `/health`) needs an API key
(`Authorization: Bearer KEY` or `X-API-Key: KEY`), created by an admin in Settings > API keys or with
`review-desk users api-key create USER`. A call acts as the key's user: the store checks that user's role
and audits state changes under their name.

Errors: `{"error": {"status", "type", "message", "field"}}` -- 400 bad input (with the field path),
401 no/unknown/revoked key, 403 the role may not, 404 not found, 409 conflict or a failed gate,
429 over the key's rate limit (Retry-After), 503 database busy (Retry-After).
"""


class Health(ReadModel):
    ok: bool
    database: str  # sqlite | postgresql


health_router = APIRouter(tags=["meta"])


@health_router.get("/health", response_model=Health, summary="Is the API up (no key needed)")
def health(desk: DeskDep) -> Health:
    return Health(ok=True, database=desk.engine.dialect.name)


@health_router.get("/me", response_model=ApiCaller, summary="Who this key acts as")
def me(who: Caller) -> ApiCaller:
    return who


def create_app(desk: Desk, *, rate_limit: RateLimit | None = None) -> FastAPI:
    """The API on `desk` (one engine, one clock). `rate_limit` is per key (default: the settings)."""
    app = FastAPI(
        title="LLMOps Review Desk API",
        version="1",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.desk = desk
    app.state.buckets = TokenBuckets(rate_limit or default_rate_limit())
    errors.install(app)
    app.include_router(health_router, prefix=PREFIX)
    for router in _routers():
        app.include_router(router, prefix=PREFIX)
    app.include_router(otlp.build_router())  # POST /v1/traces, the standard OTLP/HTTP path
    return app


def default_rate_limit() -> RateLimit:
    from review_store.config import get_settings

    settings = get_settings()
    return RateLimit(rate_per_s=settings.api_rate_per_s, burst=settings.api_burst)


def _routers() -> list[APIRouter]:
    """The /api/v1 groups (each module owns one router)."""
    from review_store.api import routes_insights, routes_items, routes_releases, routes_scores

    return [routes_items.router, routes_releases.router, routes_scores.router, routes_insights.router]
