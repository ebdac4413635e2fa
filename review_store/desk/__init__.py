"""The facade: the only door the UI, the CLI and the HTTP API use to reach the store.

    desk = Desk.open()                      # settings -> one engine, the wall clock
    desk = Desk.open(url, clock=FixedClock(...))
    desk.releases.gate("r3")                # frozen read models back; each call owns its transaction

One part per noun (desk.users, desk.releases, ...). Parts are created on first use, so a command that
needs only the audit never imports the judge (litellm is slow to import).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from review_store.clock import Clock, FixedClock, SystemClock
from review_store.config import Settings
from review_store.desk.base import Part, ReadModel
from review_store.errors import (
    ConflictError,
    DatabaseBusy,
    DatabaseUnavailable,
    NotFound,
    PermissionDenied,
    ReviewStoreError,
    SignInLocked,
    ValidationFailed,
    exit_code_for,
)
from review_store.exports import csv_text, frame_csv
from review_store.models import ROLES
from review_store.permissions import SYSTEM, Actor

if TYPE_CHECKING:  # the parts' classes, for type checkers only (they are imported lazily)
    from review_store.desk.agreement import AgreementPart
    from review_store.desk.alerts import AlertsPart
    from review_store.desk.apikeys import ApiKeysPart
    from review_store.desk.argilla import ArgillaPart
    from review_store.desk.audit import AuditPart
    from review_store.desk.backup import BackupPart
    from review_store.desk.dashboards import DashboardsPart
    from review_store.desk.demo import DemoPart
    from review_store.desk.evals import EvalsPart
    from review_store.desk.golden import GoldenPart
    from review_store.desk.ingest import IngestPart
    from review_store.desk.items import ItemsPart
    from review_store.desk.judge import JudgePart
    from review_store.desk.monitor import MonitorPart
    from review_store.desk.pairwise import PairwisePart
    from review_store.desk.releases import ReleasesPart
    from review_store.desk.retrieval import RetrievalPart
    from review_store.desk.review import ReviewPart
    from review_store.desk.rollups import RollupsPart
    from review_store.desk.rubrics import RubricsPart
    from review_store.desk.sampling import SamplingPart
    from review_store.desk.settings import SettingsPart
    from review_store.desk.users import UsersPart

__all__ = [
    "ROLES",
    "SYSTEM",
    "Actor",
    "Clock",
    "ConflictError",
    "DatabaseBusy",
    "DatabaseUnavailable",
    "Desk",
    "FixedClock",
    "NotFound",
    "Part",
    "PermissionDenied",
    "ReadModel",
    "ReviewStoreError",
    "SignInLocked",
    "SystemClock",
    "ValidationFailed",
    "csv_text",
    "exit_code_for",
    "frame_csv",
]


class Desk:
    """One engine, one clock, one part per noun. Build it once per process (the app caches it)."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None, url: str | None = None) -> None:
        self.engine = engine
        self.clock = clock  # None: the process default clock (the wall clock in production)
        self.url = url or engine.url.render_as_string(hide_password=False)

    @classmethod
    def open(cls, url: str | None = None, *, clock: Clock | None = None, migrate: bool = False) -> Desk:
        """A desk on `url` (default: REVIEW_STORE_URL, else the SQLite file); `migrate` upgrades first."""
        from review_store.db import get_engine

        settings = Settings(url=url) if url else Settings()
        resolved = settings.url
        if clock is None and settings.now:
            from review_store.clock import OffsetClock, parse_instant

            clock = OffsetClock(parse_instant(settings.now, field="REVIEW_DESK_NOW"))
        if migrate:
            from review_store import schema

            schema.upgrade(resolved)
        return cls(get_engine(resolved), clock=clock, url=resolved)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    # --- parts (imported on first use) -------------------------------------------------------------

    @cached_property
    def users(self) -> UsersPart:
        from review_store.desk.users import UsersPart

        return UsersPart(self)

    @cached_property
    def apikeys(self) -> ApiKeysPart:
        from review_store.desk.apikeys import ApiKeysPart

        return ApiKeysPart(self)

    @cached_property
    def rollups(self) -> RollupsPart:
        from review_store.desk.rollups import RollupsPart

        return RollupsPart(self)

    @cached_property
    def settings(self) -> SettingsPart:
        from review_store.desk.settings import SettingsPart

        return SettingsPart(self)

    @cached_property
    def items(self) -> ItemsPart:
        from review_store.desk.items import ItemsPart

        return ItemsPart(self)

    @cached_property
    def review(self) -> ReviewPart:
        from review_store.desk.review import ReviewPart

        return ReviewPart(self)

    @cached_property
    def pairwise(self) -> PairwisePart:
        from review_store.desk.pairwise import PairwisePart

        return PairwisePart(self)

    @cached_property
    def retrieval(self) -> RetrievalPart:
        from review_store.desk.retrieval import RetrievalPart

        return RetrievalPart(self)

    @cached_property
    def rubrics(self) -> RubricsPart:
        from review_store.desk.rubrics import RubricsPart

        return RubricsPart(self)

    @cached_property
    def golden(self) -> GoldenPart:
        from review_store.desk.golden import GoldenPart

        return GoldenPart(self)

    @cached_property
    def sampling(self) -> SamplingPart:
        from review_store.desk.sampling import SamplingPart

        return SamplingPart(self)

    @cached_property
    def agreement(self) -> AgreementPart:
        from review_store.desk.agreement import AgreementPart

        return AgreementPart(self)

    @cached_property
    def judge(self) -> JudgePart:
        from review_store.desk.judge import JudgePart

        return JudgePart(self)

    @cached_property
    def dashboards(self) -> DashboardsPart:
        from review_store.desk.dashboards import DashboardsPart

        return DashboardsPart(self)

    @cached_property
    def ingest(self) -> IngestPart:
        from review_store.desk.ingest import IngestPart

        return IngestPart(self)

    @cached_property
    def argilla(self) -> ArgillaPart:
        from review_store.desk.argilla import ArgillaPart

        return ArgillaPart(self)

    @cached_property
    def demo(self) -> DemoPart:
        from review_store.desk.demo import DemoPart

        return DemoPart(self)

    @cached_property
    def releases(self) -> ReleasesPart:
        from review_store.desk.releases import ReleasesPart

        return ReleasesPart(self)

    @cached_property
    def evals(self) -> EvalsPart:
        from review_store.desk.evals import EvalsPart

        return EvalsPart(self)

    @cached_property
    def audit(self) -> AuditPart:
        from review_store.desk.audit import AuditPart

        return AuditPart(self)

    @cached_property
    def monitor(self) -> MonitorPart:
        from review_store.desk.monitor import MonitorPart

        return MonitorPart(self)

    @cached_property
    def backup(self) -> BackupPart:
        from review_store.desk.backup import BackupPart

        return BackupPart(self)

    @cached_property
    def alerts(self) -> AlertsPart:
        from review_store.desk.alerts import AlertsPart

        return AlertsPart(self)
