"""One place for settings, so the app, the CLI and the tests agree on where the data lives."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_FILE = "review_desk.db"

# litellm downloads a price map at import unless told otherwise; we never touch the network for it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class Settings(BaseSettings):
    """Read from the environment (prefix REVIEW_STORE_); every field has a safe laptop default."""

    model_config = SettingsConfigDict(env_prefix="REVIEW_STORE_", extra="ignore")

    url: str = f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}"
    echo_sql: bool = False
    lease_minutes: int = 15
    sqlite_busy_timeout_ms: int = 10_000
    judge_timeout_s: float = 60.0
    judge_concurrency: int = 4
    # REVIEW_STORE_PASSWORD_MIN_LENGTH: the shortest password accepted for a local account (never below 8).
    password_min_length: int = Field(default=8, ge=8, le=128)
    # The HTTP API's per-key token bucket: REVIEW_STORE_API_RATE_PER_S requests a second, bursts of
    # REVIEW_STORE_API_BURST (each API process keeps its own buckets).
    api_rate_per_s: float = Field(default=20.0, gt=0)
    api_burst: int = Field(default=60, ge=1)
    # The OTLP receiver (POST /v1/traces): body limits, requests admitted at once (then 503 + Retry-After),
    # requests stored at once, and the Retry-After it sends.
    otlp_max_body_mb: int = Field(default=16, ge=1, le=1024)
    otlp_max_decoded_mb: int = Field(default=64, ge=1, le=4096)
    otlp_queue: int = Field(default=8, ge=1, le=1024)
    otlp_workers: int = Field(default=1, ge=1, le=64)
    otlp_retry_after_s: int = Field(default=1, ge=1, le=3600)
    # REVIEW_STORE_SESSION_HOURS: how long a browser sign-in lasts (reloads included) before signing in again.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # REVIEW_DESK_NOW (not REVIEW_STORE_*): run as if started at this instant (see clock.OffsetClock).
    now: str | None = Field(default=None, validation_alias="REVIEW_DESK_NOW")

    @field_validator("url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        # Heroku-style and bare postgresql:// URLs mean psycopg 3 here, never psycopg2.
        if value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value[len("postgres://") :]
        elif value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def database_url(explicit: str | None = None) -> str:
    """The URL to use: an explicit one (CLI --db) wins over REVIEW_STORE_URL and the default file."""
    if explicit:
        return Settings(url=explicit).url
    return Settings().url


def display_url(url: str) -> str:
    """The URL with its password masked, for messages and `--json` output."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
