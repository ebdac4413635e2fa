"""desk.review: the review queue (claim, label, skip, flag, escalate, progress), escalations with SLA ages,
and adjudication of disagreeing labels.

A claim writes a lease, not an audit event; a label, a skip, a flag, an escalation, a resolution and an
adjudication are audited. The judge's verdicts on a trace are shown only to a reviewer who has labelled it
(blind review): `after_submit` refuses anyone else.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from review_store import escalations, queue, reference, retrieval, rubrics
from review_store import settings as team_settings
from review_store.db import is_sqlite
from review_store.desk.base import Part, decode_cursor, encode_cursor
from review_store.desk.review_views import (
    AdjudicationCase,
    AfterSubmit,
    Claim,
    ContextChunk,
    EscalationRow,
    Escalations,
    GuardrailHit,
    ItemCard,
    ItemInfo,
    ItemPage,
    ItemSummary,
    JudgeComparison,
    LabelView,
    PairOutcome,
    PairReveal,
    PairView,
    Progress,
    QueueProgress,
    ReviewerProgress,
    TeamProgress,
    TraceView,
    answers_of,
)
from review_store.desk.rubrics import rubric_view
from review_store.errors import ConflictError
from review_store.models import Label, ReviewItem, Rubric, Trace, User
from review_store.pairwise.answers import asked_keys, choice_of, outcome_of, pairwise_keys, reason_of
from review_store.pairwise.pairs import pair_for_trace
from review_store.permissions import Actor, require
from review_store.queue import listing

DECISIONS = escalations.DECISIONS  # return_to_queue | confirmed_problem | no_problem


def _pair_view(session: Session, item_id: int, trace_id: int, rubric: Rubric | None) -> PairView | None:
    found = pair_for_trace(session, trace_id=trace_id)
    if found is None:
        return None
    a, b = session.get(Trace, found.pair.a_trace_id), session.get(Trace, found.pair.b_trace_id)
    keys = pairwise_keys(rubrics.spec_of(rubric)) if rubric is not None else ()
    return PairView(item_id=item_id, questions=keys, input=a.input, output_a=a.output, output_b=b.output)


def _pair_reveal(session: Session, item_id: int, trace_id: int, answers: dict, spec) -> PairReveal | None:
    found = pair_for_trace(session, trace_id=trace_id)
    if found is None:
        return None
    rows = []
    for key in pairwise_keys(spec):
        value = answers.get(key)
        outcome = outcome_of(value, found)
        if outcome is None:
            continue
        winner = "tie" if outcome == "tie" else found.release_of(choice_of(value))
        rows.append(
            PairOutcome(
                question=key, choice=choice_of(value), reason=reason_of(value), winner=winner, outcome=outcome
            )
        )
    return PairReveal(
        item_id=item_id,
        release_a=found.release_of("a"),
        release_b=found.release_of("b"),
        candidate=found.candidate,
        baseline=found.baseline,
        answers=tuple(rows),
    )


def _card(session: Session, item_id: int, rubric: Rubric | None = None) -> ItemCard:
    """The item's card; its shadow pair (PairView) is looked up for any item, and names the pairwise
    questions of `rubric` when one is given."""
    view = queue.item_view(session, item_id=item_id)
    trace = view["trace"]
    return ItemCard(
        item=ItemInfo(**view["item"]),
        trace=TraceView(
            **{k: v for k, v in trace.items() if k != "context"},
            context=tuple(
                ContextChunk(id=str(c.get("id", "?")), score=c.get("score"), text=str(c.get("text", "")))
                for c in trace["context"]
                if isinstance(c, dict)
            ),
            markable=tuple(retrieval.chunk_ids(trace["context"])),
        ),
        guardrails=tuple(GuardrailHit(**g) for g in view["guardrails"]),
        pair=_pair_view(session, item_id, trace["id"], rubric),
    )


def _asked(session: Session, item_id: int, rubric: Rubric) -> tuple[str, ...]:
    item = session.get(ReviewItem, item_id)
    return asked_keys(session, rubrics.spec_of(rubric), trace_id=item.trace_id)


def _claim_view(session: Session, item_id: int | None, rubric: Rubric) -> Claim:
    return Claim(
        item=_card(session, item_id, rubric) if item_id is not None else None,
        rubric=rubric_view(session, rubric),
        asked=_asked(session, item_id, rubric) if item_id is not None else (),
    )


def _label_view(label: Label, reviewer: str) -> LabelView:
    return LabelView(
        item_id=label.item_id,
        reviewer=reviewer,
        rubric_id=label.rubric_id,
        answers=answers_of(label.answers),
        correction=label.correction,
        seconds_spent=label.seconds_spent,
        created_at=label.created_at,
    )


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict) and "choice" in value:  # a pairwise answer: the position picked, and why
        return f"{value['choice']} · {value.get('reason') or ''}".rstrip(" ·")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


class ReviewPart(Part):
    # --- the queue ---------------------------------------------------------------------------------

    def claim(self, *, actor: Actor) -> Claim:
        """The item this reviewer should label now, leased to them (the same one again while their lease
        holds, so a reload burns no slot), with the rubric to answer. NotFound when no rubric exists yet.

        On SQLite the lease is written in a short transaction of its own (writers take turns on the file
        lock) and the card is read after it; on PostgreSQL, where only the item's row is locked, the card is
        read in the same transaction, which saves a second connection checkout and transaction per claim."""
        with self._write(actor) as (session, who):
            rubric = queue.active_rubric(session)
            item = queue.next_item(session, actor=who)
            if not is_sqlite(session):
                return _claim_view(session, item.id if item is not None else None, rubric)
            item_id = item.id if item is not None else None
        with self._read() as session:  # the card, from committed state
            return _claim_view(session, item_id, rubrics.get(session, rubric.id))

    def items(
        self,
        *,
        segment: str | None = None,
        status: str | None = None,
        queue: str | None = None,
        strategy: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ItemPage:
        """Review items in id order, filtered; `cursor` (from the previous page's next_cursor) resumes after
        the last item seen. ValidationFailed names a bad filter, limit or cursor."""
        after = decode_cursor(cursor)
        with self._read() as session:
            rows = listing.list_items(
                session,
                segment=segment,
                status=status,
                queue=queue,
                strategy=strategy,
                after_id=after,
                limit=limit,
            )
            found = tuple(ItemSummary(**row) for row in rows)
        more = len(found) == limit
        return ItemPage(items=found, next_cursor=encode_cursor(found[-1].id) if found and more else None)

    def item(self, item_id: int) -> ItemCard:
        """One item's trace card (any status); NotFound when there is no such item."""
        with self._read() as session:
            return _card(session, item_id)

    def submit(
        self,
        *,
        actor: Actor,
        item_id: int,
        rubric_id: int,
        answers: dict[str, Any],
        correction: str | None = None,
        seconds_spent: float | None = None,
        client_key: str | None = None,
        source: str = "app",
    ) -> LabelView:
        """Store the reviewer's label (validated against that rubric version); audited. Idempotent for the
        same answers; ConflictError for different answers or a lease another reviewer took over.
        `client_key` (an API client's Idempotency-Key) may not be reused for another label."""
        label, who = self._write_audited_last(
            actor,
            lambda session, who: queue.submit_label(
                session,
                actor=who,
                item_id=item_id,
                rubric_id=rubric_id,
                answers=answers,
                correction=correction,
                seconds_spent=seconds_spent,
                client_key=client_key,
                source=source,
            ),
        )
        # the view is built after the commit: the audit head stays locked until then (audit/append.py)
        return _label_view(label, who.username)

    def after_submit(self, *, actor: Actor, item_id: int) -> AfterSubmit:
        """The reviewer's stored answers beside every judge verdict on the trace, agreement marked by the
        store's disagreement rule. ConflictError before they labelled the item: review stays blind."""
        from review_store import judge

        with self._read() as session:
            label = session.exec(
                select(Label).where(Label.item_id == item_id, Label.reviewer_id == actor.id)
            ).first()
            if label is None:
                raise ConflictError(f"item {item_id}: the judge's verdict is shown only after you label it")
            rubric = rubrics.get(session, label.rubric_id)
            spec = rubrics.spec_of(rubric)
            keys = {q.key: q for q in spec.questions}
            item = session.get(ReviewItem, item_id)
            trace = session.get(Trace, item.trace_id)
            rows = []
            for v in judge.verdicts_for_trace(session, trace_id=trace.id):
                mine, theirs = label.answers.get(v["question"]), v["value"]
                question = keys.get(v["question"])
                if question is None or mine is None or theirs is None:
                    agreement = "—"
                else:
                    agreement = (
                        "disagree" if reference.answers_disagree(question, [mine, theirs]) else "agree"
                    )
                rows.append(
                    JudgeComparison(
                        question=v["question"],
                        your_answer=_shown(mine),
                        judge=v["config"],
                        judge_answer=_shown(theirs),
                        confidence=v["confidence"],
                        agreement=agreement,
                        rationale=v["rationale"] or v["error"] or "",
                    )
                )
            return AfterSubmit(
                item_id=item_id,
                trace=trace.external_id,
                rubric_version=rubric.version,
                answers=answers_of(label.answers),
                judge=tuple(rows),
                pair=_pair_reveal(session, item_id, trace.id, label.answers, spec),
            )

    def pair_reveal(self, *, actor: Actor, item_id: int) -> PairReveal | None:
        """Which release was shown as A and which as B on this item, with the reviewer's pairwise answers
        mapped to the candidate (None when the item has no shadow pair). ConflictError before they labelled
        the item: the pair stays blind until then."""
        with self._read() as session:
            label = session.exec(
                select(Label).where(Label.item_id == item_id, Label.reviewer_id == actor.id)
            ).first()
            if label is None:
                raise ConflictError(
                    f"item {item_id}: the releases behind A and B are shown after you label it"
                )
            spec = rubrics.spec_of(rubrics.get(session, label.rubric_id))
            trace_id = session.get(ReviewItem, item_id).trace_id
            return _pair_reveal(session, item_id, trace_id, label.answers, spec)

    def skip(self, *, actor: Actor, item_id: int) -> None:
        """Give the item back for the others; this reviewer is not offered it again. Audited."""
        with self._write(actor) as (session, who):
            queue.skip(session, actor=who, item_id=item_id)

    def flag(self, *, actor: Actor, item_id: int, note: str = "") -> None:
        """Send the item to the Escalations list as a reviewer flag (with the optional note). Audited."""
        with self._write(actor) as (session, who):
            queue.flag(session, actor=who, item_id=item_id, note=note)

    def escalate(self, *, actor: Actor, item_id: int, reason: str) -> None:
        """Send the item to the Escalations list with a reason (required). Audited."""
        with self._write(actor) as (session, who):
            queue.escalate(session, actor=who, item_id=item_id, reason=reason)

    def progress(self, actor: Actor) -> Progress:
        """Labels this reviewer gave today (the clock's day, UTC) and items still left for them."""
        with self._read() as session:
            numbers = queue.progress(session, actor=actor)
            return Progress(**numbers)

    def team_progress(self, *, actor: Actor) -> TeamProgress:
        """Per reviewer and per queue: done, pending, escalated (leads)."""
        with self._read() as session:
            require(actor, "adjudicate")
            return TeamProgress(
                reviewers=tuple(ReviewerProgress(**r) for r in escalations.progress_by_reviewer(session)),
                queues=tuple(QueueProgress(**q) for q in escalations.progress_by_queue(session)),
            )

    # --- escalations -------------------------------------------------------------------------------

    def escalations(self, *, include_resolved: bool = False) -> Escalations:
        """Escalated items oldest first, with their age and SLA colour (setting escalation.sla_hours)."""
        with self._read() as session:
            sla = team_settings.get(session, "escalation.sla_hours")
            rows = escalations.escalations(session, include_resolved=include_resolved)
            return Escalations(
                warn_hours=float(sla.warn),
                breach_hours=float(sla.breach),
                rows=tuple(EscalationRow(**r) for r in rows),
            )

    def resolve_escalation(self, *, actor: Actor, item_id: int, decision: str, note: str) -> None:
        """Close an escalation with a decision (DECISIONS) and a note; return_to_queue serves it first."""
        with self._write(actor) as (session, who):
            escalations.resolve_escalation(session, actor=who, item_id=item_id, decision=decision, note=note)

    # --- adjudication ------------------------------------------------------------------------------

    def adjudication_queue(self) -> tuple[AdjudicationCase, ...]:
        """Items whose reviewers disagreed, oldest first, each with every label side by side."""
        with self._read() as session:
            cases = []
            users = dict(session.exec(select(User.id, User.username)).all())
            for row in escalations.adjudication_list(session):
                rubric_id = row["labels"][-1]["rubric_id"]
                labels = session.exec(
                    select(Label).where(Label.item_id == row["item_id"]).order_by(col(Label.created_at))
                ).all()
                cases.append(
                    AdjudicationCase(
                        item_id=row["item_id"],
                        trace=row["trace"],
                        rubric=rubric_view(session, rubrics.get(session, rubric_id)),
                        asked=_asked(session, row["item_id"], rubrics.get(session, rubric_id)),
                        labels=tuple(_label_view(lb, users.get(lb.reviewer_id, "?")) for lb in labels),
                        disagree=tuple(escalations.disagreement_of(session, item_id=row["item_id"])),
                    )
                )
            return tuple(cases)

    def adjudicate(
        self,
        *,
        actor: Actor,
        item_id: int,
        answers: dict[str, Any],
        note: str = "",
        rubric_id: int | None = None,
    ) -> None:
        """Record the final label of a disagreeing item (leads); the individual labels stay. Audited."""
        with self._write(actor) as (session, who):
            escalations.adjudicate(
                session, actor=who, item_id=item_id, answers=answers, note=note, rubric_id=rubric_id
            )
