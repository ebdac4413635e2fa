"""The demo world: 30 days of Acme's RAG support assistant, deterministic for a seed and an end date.

The story it tells: r1 is known-good; r2 shortened the system prompt, raised top-k and dropped the
reranker, so answers in `refunds` lose their grounding, the grounding guardrail fires about three times
as often there and the judge misses some of it; r3 fixes it and waits for approval. Reviewers have
labelled about 300 items with overlap 2-3; the judge agrees well on correctness and poorly on tone.

Time is an input: the world ends at `end` (default: midnight of the clock's today) and the whole build
runs on the story's own clock (story.py), so every timestamp derives from `end`, never from the machine.
The quantities the story rests on are counted, not drawn (quota.py, labelplan.py), so it holds for every
seed and end date; tests/test_demo_story.py and bench/demo_story.py check that.

The build drives the store's own services at each step's story moment (story.py queues the calls and runs
them in time order, so the audit chain is what real use writes, in time order, and verifies): users, the
rubric, the gate policy, judge configs, the sampling policy and settings (setup.py); every release step
(releases.py: create, eval runs, sign-off with the gate's evidence hash, canary promotes, r1's health
check); the lead's adjudications and the golden examples (review.py); r3's shadow run against r2 with its pairwise review and the gate rule
(shadow.py). Bulk data keeps fast paths: traces
and guardrail events are inserted row-wise with the ingest writer's rollup upkeep
(`rollups.maintain.add_traces`, same transaction; not the ingest writer itself, which parses records),
judge verdicts with `rollups.maintain.add_verdicts`; review items and labels are inserted as planned
(labelplan.py), with the judge runs and the review seeding recorded as queued audit events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, func, select

from review_store import clock
from review_store.demo.labelplan import plan_labels
from review_store.demo.releases import write_releases
from review_store.demo.review import write_review, write_verdicts
from review_store.demo.setup import DEMO_USERS, JUDGE_TEMPLATE, RUBRIC_QUESTIONS, write_config, write_people
from review_store.demo.shadow import write_shadow_run
from review_store.demo.story import Story
from review_store.demo.traffic import DAYS, BuildCounts, write_traffic
from review_store.errors import DatabaseNotEmpty, ValidationFailed
from review_store.models import Trace, User

__all__ = [
    "DAYS",
    "DEMO_USERS",
    "JUDGE_TEMPLATE",
    "MIN_TRACES",
    "RUBRIC_QUESTIONS",
    "BuiltWorld",
    "build",
    "build_demo",
    "default_end",
    "has_data",
]

MIN_TRACES = 1


@dataclass
class BuiltWorld:
    seed: int
    start: datetime
    end: datetime
    counts: BuildCounts
    credentials: dict[str, str] = field(default_factory=dict)


def default_end() -> datetime:
    """Midnight UTC of the clock's today: the demo's 30 days end now, so 'last 7 days' shows data."""
    return clock.now().replace(hour=0, minute=0, second=0, microsecond=0)


def has_data(session: Session) -> bool:
    """Whether the database holds traces or users (what a demo build would overwrite)."""
    return bool(
        session.exec(select(func.count()).select_from(Trace)).one()
        or session.exec(select(func.count()).select_from(User)).one()
    )


def build(
    session: Session,
    *,
    seed: int = 7,
    traces: int = 5000,
    end: datetime | None = None,
    force: bool = False,
    password: str | None = None,
) -> BuiltWorld:
    """Fill the database with the demo world in the caller's transaction.

    Refuses a database with data (DatabaseNotEmpty) unless `force`, which wipes it first. `end` must be a
    midnight (the world covers the DAYS days before it). Passwords are random unless `password` is given
    (tests); they are returned once and stored only as hashes.
    """
    if traces < MIN_TRACES:
        raise ValidationFailed(f"traces: at least {MIN_TRACES}, not {traces}")
    end = end or default_end()
    if end != end.replace(hour=0, minute=0, second=0, microsecond=0):
        raise ValidationFailed(f"end: the demo world ends at a midnight (a date), not {end.isoformat()}")
    if has_data(session):
        if not force:
            raise DatabaseNotEmpty(
                "the database already holds data; use --force to replace it with the demo world"
            )
        _wipe(session)
    story = Story(start=end - timedelta(days=DAYS), end=end)
    world = BuiltWorld(seed=seed, start=story.start, end=end, counts=BuildCounts())
    rng = random.Random(seed)
    ids: dict = {}
    with clock.using(story.clock):
        write_people(session, story, ids, password, world.credentials)
        write_releases(session, story, ids, ("r1",))
        story.flush(session)  # r1 is known-good before the judge and the traffic exist
        write_config(session, story, ids)
        facts = write_traffic(session, rng, world.counts, story.start, traces)
        plans = plan_labels(rng, facts[:-1], end)  # not the HTML trace: it waits open for a reviewer
        write_verdicts(session, rng, story, world.counts, facts, plans, ids)
        write_review(session, rng, story, world.counts, facts, plans, ids)
        write_releases(session, story, ids, ("r2", "r3"))
        write_shadow_run(session, seed, story, world.counts, facts, ids)  # r3 in shadow of r2 (day 28)
        story.flush(session)
    _reset_sequences(session)
    return world


def build_demo(engine: Engine, **kwargs) -> BuiltWorld:
    """`build` in a transaction of its own (tests and benchmarks; the app and CLI use desk.demo.build)."""
    from review_store.db import session_scope

    with session_scope(engine) as session:
        return build(session, **kwargs)


def _wipe(session: Session) -> None:
    for table in reversed(SQLModel.metadata.sorted_tables):
        session.exec(table.delete())
    session.flush()


def _reset_sequences(session: Session) -> None:
    """Explicit ids leave PostgreSQL sequences behind; move each to its table's max id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("trace", "guardrailevent", "judgeverdict"):
        session.exec(
            sql_text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
        )
