"""desk.demo: build the Acme support assistant demo world (30 days ending at a date, deterministic per seed)."""

from __future__ import annotations

from datetime import date, datetime

from review_store import demo
from review_store.desk.base import Part, ReadModel

__all__ = ["Credential", "DemoPart", "DemoSummary"]

CREDENTIALS_NOTE = "the database already holds data; nothing was built"


class Credential(ReadModel):
    username: str
    role: str
    password: str


class DemoSummary(ReadModel):
    """What a build made (or, with built=False, why it made nothing). Passwords appear here once only."""

    built: bool
    note: str = ""
    seed: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    traces: int = 0
    guardrail_events: int = 0
    verdicts: int = 0
    labels: int = 0
    items: int = 0
    credentials: tuple[Credential, ...] = ()


def _midnight(end: date | datetime | None) -> datetime | None:
    if end is None or isinstance(end, datetime):
        return end
    return datetime(end.year, end.month, end.day)


class DemoPart(Part):
    def build(
        self,
        *,
        seed: int = 7,
        traces: int = 5000,
        end: date | datetime | None = None,
        password: str | None = None,
        if_empty: bool = False,
        force: bool = False,
    ) -> DemoSummary:
        """Fill the database with the demo world: DAYS days ending at midnight of `end` (default: the desk
        clock's today), r1 known-good, r2 live with its refunds regression, r3 the candidate.

        Same seed and end, same data. `if_empty`: do nothing (built=False) when data is there; otherwise a
        database with data is refused (DatabaseNotEmpty) unless `force`, which replaces it. Passwords are
        random unless `password` is given; they are returned once and stored only as hashes. One transaction.
        """
        with self._write(None) as (session, _):
            if if_empty and not force and demo.has_data(session):
                return DemoSummary(built=False, note=CREDENTIALS_NOTE)
            world = demo.build(
                session, seed=seed, traces=traces, end=_midnight(end), force=force, password=password
            )
            roles = {name: role for name, role, _ in demo.DEMO_USERS}
            return DemoSummary(
                built=True,
                seed=world.seed,
                start=world.start,
                end=world.end,
                traces=world.counts.traces,
                guardrail_events=world.counts.guardrail_events,
                verdicts=world.counts.verdicts,
                labels=world.counts.labels,
                items=world.counts.items,
                credentials=tuple(
                    Credential(username=name, role=roles[name], password=secret)
                    for name, secret in world.credentials.items()
                ),
            )
