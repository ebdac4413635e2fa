"""Who is calling: the API key (Authorization: Bearer KEY, or X-API-Key: KEY), its rate limit, its Actor.

Order: no key -> 401; over the key's budget -> 429 (checked before the database is touched, so a
flood costs no queries); unknown, revoked or expired key, a personal CLI token, or a deactivated
user -> 401; then the route calls the facade as the key's user, which re-reads the role on every state
change (403 when the role may not).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from review_store.api.errors import RateLimited, Unauthenticated
from review_store.api.ratelimit import TokenBuckets
from review_store.desk import Desk, PermissionDenied
from review_store.desk.apikeys import ApiCaller
from review_store.permissions import Actor

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer rdt_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key in `X-API-Key`.")


def desk_of(request: Request) -> Desk:
    return request.app.state.desk


def _client(request: Request) -> str:
    host = request.client.host if request.client else "unknown"
    return f"api from {host}"


def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiCaller:
    """The key's caller, or 401/429. Every /api/v1 route except /health depends on this."""
    secret = (bearer.credentials if bearer else None) or header
    if not secret or not secret.strip():
        raise Unauthenticated(
            "an API key is required: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
            "(an admin creates keys in Settings > API keys or with `review-desk users api-key create`)"
        )
    buckets: TokenBuckets = request.app.state.buckets
    wait = buckets.take(hashlib.sha256(secret.strip().encode()).hexdigest())
    if wait > 0:
        raise RateLimited(
            f"rate limit: {buckets.limit.rate_per_s:g} requests/s (bursts of {buckets.limit.burst}) "
            f"per API key; retry after {wait:.2f} s",
            retry_after=wait,
        )
    try:
        return desk_of(request).apikeys.authenticate(secret=secret, origin=_client(request))
    except PermissionDenied as exc:
        raise Unauthenticated(str(exc)) from None


def actor(who: Annotated[ApiCaller, Depends(caller)]) -> Actor:
    return who.actor()


Caller = Annotated[ApiCaller, Depends(caller)]
ActorDep = Annotated[Actor, Depends(actor)]
DeskDep = Annotated[Desk, Depends(desk_of)]
