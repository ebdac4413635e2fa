"""desk.rubrics: the versioned questions reviewers and judges answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from review_store import rubrics
from review_store.desk.base import Part, ReadModel
from review_store.models import Rubric
from review_store.permissions import Actor, require

KINDS = rubrics.KINDS
PAIRWISE = rubrics.PAIRWISE  # a question comparing two outputs of one input (answer a | b | tie + reason)
PAIRWISE_CHOICES = rubrics.PAIRWISE_CHOICES  # the stored choices: screen positions, never releases


class Anchor(ReadModel):
    point: int
    text: str  # what this point of the rating scale means


class QuestionView(ReadModel):
    key: str
    kind: str  # rating | label | multi_label | text | chunks
    prompt: str
    guidelines: str
    min: int
    max: int
    options: tuple[str, ...]
    required: bool
    anchors: tuple[Anchor, ...] = ()  # rating questions: the meaning of some scale points, by point

    @property
    def choices(self) -> tuple[Any, ...]:
        """What a reviewer may pick: the rating points, or the options of a label question."""
        return tuple(range(self.min, self.max + 1)) if self.kind == "rating" else self.options

    def anchor(self, point: Any) -> str | None:
        """The meaning of rating point `point`, when the rubric gives one."""
        return next((a.text for a in self.anchors if a.point == point), None)

    def choice_label(self, choice: Any) -> str:
        """A choice as a reviewer reads it: "1 · Wrong or harmful" for an anchored point, else the choice."""
        meaning = self.anchor(choice) if self.kind == "rating" else None
        return f"{choice} · {meaning}" if meaning else str(choice)


class RubricView(ReadModel):
    id: int
    name: str
    version: int
    questions: tuple[QuestionView, ...]
    content_hash: str
    created_by: str
    created_at: datetime
    used: bool  # answered by a label, an adjudication or a judge config: saving makes the next version

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def questions_json(self) -> list[dict[str, Any]]:
        """The questions as stored (the shape `create` and `edit` take), for the editor."""
        return [
            rubrics.Question(
                key=q.key,
                kind=q.kind,
                prompt=q.prompt,
                guidelines=q.guidelines,
                min=q.min,
                max=q.max,
                options=q.options,
                required=q.required,
                anchors=tuple((a.point, a.text) for a in q.anchors),
            ).to_dict()
            for q in self.questions
        ]


def rubric_view(session, rubric: Rubric) -> RubricView:
    """The read model of one stored rubric version (used by other parts that show a rubric)."""
    spec = rubrics.spec_of(rubric)
    return RubricView(
        id=rubric.id,
        name=rubric.name,
        version=rubric.version,
        questions=tuple(
            QuestionView(
                key=q.key,
                kind=q.kind,
                prompt=q.prompt,
                guidelines=q.guidelines,
                min=q.min,
                max=q.max,
                options=q.options,
                required=q.required,
                anchors=tuple(Anchor(point=p, text=t) for p, t in q.anchors),
            )
            for q in spec.questions
        ),
        content_hash=rubric.content_hash,
        created_by=rubric.created_by,
        created_at=rubric.created_at,
        used=rubrics.is_used(session, rubric.id),
    )


class RubricsPart(Part):
    def list(self) -> tuple[RubricView, ...]:
        """Every rubric version, by name then version."""
        with self._read() as session:
            return tuple(rubric_view(session, r) for r in rubrics.list_rubrics(session))

    def active(self) -> RubricView:
        """The rubric reviewers answer now (the newest version of the newest rubric); NotFound before one."""
        from review_store import queue

        with self._read() as session:
            return rubric_view(session, queue.active_rubric(session))

    def get(self, rubric_id: int) -> RubricView:
        """One rubric version; NotFound when there is none with that id."""
        with self._read() as session:
            return rubric_view(session, rubrics.get(session, rubric_id))

    def create(self, *, actor: Actor, name: str, questions: list[dict[str, Any]]) -> RubricView:
        """Save `questions` as the next version of rubric `name` (leads); unchanged content returns the
        newest version as it is. ValidationFailed names the question and field that is wrong."""
        with self._write(actor) as (session, who):
            return rubric_view(
                session, rubrics.create_rubric(session, actor=who, name=name, questions=questions)
            )

    def edit(self, *, actor: Actor, rubric_id: int, questions: list[dict[str, Any]]) -> RubricView:
        """Change the newest version: in place while nobody answered it, else as the next version."""
        with self._write(actor) as (session, who):
            require(who, "edit_rubrics")
            saved = rubrics.edit_rubric(session, actor=who, rubric_id=rubric_id, questions=questions)
            return rubric_view(session, saved)
