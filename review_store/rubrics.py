"""Versioned rubrics: the questions reviewers and judges answer, with their guidelines.

A question is a small typed value that round-trips through a dict (stored as JSON on the rubric row).
A rubric version that has answers is immutable; editing it creates the next version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from review_store import audit, hashing, versioning
from review_store.errors import ConflictError, NotFound, ValidationFailed
from review_store.models import Rubric
from review_store.permissions import Actor, require

# "chunks": which of the trace's retrieved context chunks were relevant (a list of chunk ids; an empty list
# means none was). Read by review_store.retrieval for precision@k and recall; the ids are checked against
# the trace's context when a label is saved (queue.labels), since a rubric knows no trace.
CHUNKS = "chunks"
# "pairwise": which of two outputs for the same input is better, as shown on screen: {"choice": "a" | "b" |
# "tie", "reason": text}. It applies to an item whose trace has a shadow pair (a candidate release's shadow
# trace answering the same input, review_store.pairwise.pairs.pair_for_trace); elsewhere it is left blank.
# A rubric knows no trace, so whether it applies (required there, refused elsewhere) is checked when a
# label is saved (review_store.pairwise.answers.check_item_answers); there the rubric's other questions are
# not asked (asked_questions: they ask about "the answer", which the blind A/B view does not name). The
# stored choice is the screen position; review_store.pairwise maps it to the candidate's outcome on read.
PAIRWISE = "pairwise"
PAIRWISE_CHOICES = ("a", "b", "tie")
REASON_MAX_CHARS = 2000
KINDS = ("rating", "label", "multi_label", "text", CHUNKS, PAIRWISE)
ANCHOR_MAX_CHARS = 120  # an anchor is a label on a scale point, not a guideline


def _parse_anchors(raw: Any, *, where: str) -> tuple[tuple[int, str], ...]:
    """`{point: meaning}` as sorted (int, str) pairs; JSON keys arrive as strings ("1"), so digits are
    accepted as text. Range and text are checked by Question.validate (it knows min and max)."""
    if raw is None or raw == {}:
        return ()
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where}: anchors must be an object {{scale point: meaning}}")
    pairs: dict[int, Any] = {}
    for key, text in raw.items():
        point = key.strip() if isinstance(key, str) else key
        if isinstance(point, bool) or not (
            isinstance(point, int) or (isinstance(point, str) and point.lstrip("-").isdigit())
        ):
            raise ValidationFailed(f"{where}: anchors.{key}: {key!r} is not a whole scale point")
        if int(point) in pairs:
            raise ValidationFailed(f"{where}: anchors.{key}: scale point {int(point)} repeats")
        pairs[int(point)] = text.strip() if isinstance(text, str) else text
    return tuple(sorted(pairs.items()))


@dataclass(frozen=True)
class Question:
    key: str
    kind: str
    prompt: str
    guidelines: str = ""
    min: int = 1
    max: int = 5
    options: tuple[str, ...] = ()
    required: bool = True
    anchors: tuple[tuple[int, str], ...] = ()  # rating only: what a scale point means, sorted by point

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "question") -> Question:
        try:
            key = str(data["key"]).strip()
            kind = str(data["kind"]).strip()
        except KeyError as exc:
            raise ValidationFailed(f"{where}: missing field {exc.args[0]!r}") from None
        question = cls(
            key=key,
            kind=kind,
            prompt=str(data.get("prompt") or key),
            guidelines=str(data.get("guidelines") or ""),
            min=int(data.get("min", 1)),
            max=int(data.get("max", 5)),
            options=tuple(str(o) for o in data.get("options") or ()),
            required=bool(data.get("required", kind not in ("text", CHUNKS))),
            anchors=_parse_anchors(data.get("anchors"), where=f"{where} {key!r}"),
        )
        question.validate(where=f"{where} {key!r}")
        return question

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "prompt": self.prompt,
            "guidelines": self.guidelines,
            "required": self.required,
        }
        if self.kind == "rating":
            data.update(min=self.min, max=self.max)
            if self.anchors:  # only when set: rubrics without anchors keep their content hash
                data["anchors"] = {str(point): text for point, text in self.anchors}
        if self.kind in ("label", "multi_label"):
            data["options"] = list(self.options)
        return data

    def validate(self, *, where: str = "question") -> None:
        if not self.key or not self.key.replace("_", "").isalnum():
            raise ValidationFailed(f"{where}: key must be letters, digits and underscores")
        if self.kind not in KINDS:
            raise ValidationFailed(f"{where}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "rating" and not self.min < self.max:
            raise ValidationFailed(f"{where}: rating needs min < max (got {self.min}..{self.max})")
        if self.kind in ("label", "multi_label"):
            if len(self.options) < 2:
                raise ValidationFailed(f"{where}: a {self.kind} question needs at least two options")
            if len(set(self.options)) != len(self.options):
                raise ValidationFailed(f"{where}: options repeat")
        self._validate_anchors(where)

    def _validate_anchors(self, where: str) -> None:
        if self.anchors and self.kind != "rating":
            raise ValidationFailed(f"{where}: anchors: only rating questions have scale anchors")
        for point, text in self.anchors:
            field_ = f"{where}: anchors.{point}"
            if not self.min <= point <= self.max:
                raise ValidationFailed(f"{field_}: outside {self.min}..{self.max}")
            if not isinstance(text, str) or not text.strip():
                raise ValidationFailed(f"{field_}: the meaning must be non-empty text")
            if len(text) > ANCHOR_MAX_CHARS:
                raise ValidationFailed(
                    f"{field_}: {len(text)} characters; keep an anchor to {ANCHOR_MAX_CHARS} or fewer"
                )

    def anchor(self, point: int) -> str | None:
        """What scale point `point` means, when the rubric says."""
        return dict(self.anchors).get(point)

    @property
    def is_ordinal(self) -> bool:
        return self.kind == "rating"

    def check_answer(self, value: Any) -> Any:
        """The answer normalised to its stored form; ValidationFailed names the valid choices."""
        if self.kind == CHUNKS and isinstance(value, list | tuple) and not value:
            return []  # "none of the chunks was relevant" is an answer, not a blank
        if self.kind == PAIRWISE and (value is None or value == "" or value == {}):
            return None  # required only where a shadow pair exists: checked with the trace (see PAIRWISE)
        if value is None or value == "" or value == []:
            if self.required:
                raise ValidationFailed(f"{self.key}: an answer is required")
            return None
        if self.kind == "rating":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(f"{self.key}: {value!r} is not a whole number") from None
            if number != value and not isinstance(value, str) and float(value) != number:
                raise ValidationFailed(f"{self.key}: {value!r} is not a whole number")
            if not self.min <= number <= self.max:
                raise ValidationFailed(f"{self.key}: {number} is outside {self.min}..{self.max}")
            return number
        if self.kind == "label":
            if str(value) not in self.options:
                raise ValidationFailed(f"{self.key}: {value!r} is not one of {', '.join(self.options)}")
            return str(value)
        if self.kind == "multi_label":
            values = [value] if isinstance(value, str) else list(value)
            bad = [v for v in values if str(v) not in self.options]
            if bad:
                raise ValidationFailed(f"{self.key}: {bad!r} not among {', '.join(self.options)}")
            return sorted({str(v) for v in values}, key=self.options.index)
        if self.kind == PAIRWISE:
            return self._check_pairwise(value)
        if self.kind == CHUNKS:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list | tuple) or not all(isinstance(v, str) and v for v in values):
                raise ValidationFailed(f"{self.key}: {value!r} is not a list of chunk ids")
            return list(dict.fromkeys(values))
        return str(value)

    def _check_pairwise(self, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValidationFailed(
                f"{self.key}: a pairwise answer is {{'choice': a | b | tie, 'reason': text}}, got {value!r}"
            )
        unknown = set(value) - {"choice", "reason"}
        if unknown:
            raise ValidationFailed(f"{self.key}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        choice = value.get("choice")
        choice = choice.strip().lower() if isinstance(choice, str) else choice
        if choice not in PAIRWISE_CHOICES:
            raise ValidationFailed(
                f"{self.key}: choice {value.get('choice')!r} is not one of a (A is better), b (B is better), "
                "tie"
            )
        reason = value.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise ValidationFailed(f"{self.key}: give a reason for the choice (what made one output better)")
        if len(reason) > REASON_MAX_CHARS:
            raise ValidationFailed(
                f"{self.key}: the reason has {len(reason)} characters; keep it to {REASON_MAX_CHARS}"
            )
        return {"choice": choice, "reason": reason}

    def score(self, value: Any) -> float | None:
        """Numeric form of an answer for aggregates: ratings only."""
        if self.kind == "rating" and value is not None:
            return float(value)
        return None


@dataclass(frozen=True)
class RubricSpec:
    name: str
    questions: tuple[Question, ...] = field(default_factory=tuple)

    @classmethod
    def from_dicts(cls, name: str, questions: list[dict[str, Any]]) -> RubricSpec:
        if not name.strip():
            raise ValidationFailed("rubric name: must not be empty")
        if not isinstance(questions, list) or not all(isinstance(q, dict) for q in questions):
            raise ValidationFailed("rubric: questions must be a list of objects (key, kind, prompt, ...)")
        parsed = tuple(Question.from_dict(q, where=f"question {i + 1}") for i, q in enumerate(questions))
        if not parsed:
            raise ValidationFailed("rubric: needs at least one question")
        keys = [q.key for q in parsed]
        if len(set(keys)) != len(keys):
            raise ValidationFailed(f"rubric: question keys repeat ({', '.join(sorted(keys))})")
        return cls(name=name.strip(), questions=parsed)

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise NotFound(f"rubric {self.name!r} has no question {key!r}")

    def check_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        unknown = set(answers) - {q.key for q in self.questions}
        if unknown:
            raise ValidationFailed(f"answers: unknown question(s) {', '.join(sorted(unknown))}")
        return {q.key: q.check_answer(answers.get(q.key)) for q in self.questions}


def content_hash(questions: list[dict[str, Any]]) -> str:
    return hashing.content_hash(questions)


def spec_of(rubric: Rubric) -> RubricSpec:
    return RubricSpec.from_dicts(rubric.name, rubric.questions)


def latest(session: Session, name: str) -> Rubric:
    rubric = session.exec(
        select(Rubric).where(Rubric.name == name).order_by(col(Rubric.version).desc()).limit(1)
    ).first()
    if rubric is None:
        raise NotFound(f"no rubric named {name!r}")
    return rubric


def get(session: Session, rubric_id: int) -> Rubric:
    rubric = session.get(Rubric, rubric_id)
    if rubric is None:
        raise NotFound(f"no rubric with id {rubric_id}")
    return rubric


def list_rubrics(session: Session) -> list[Rubric]:
    return list(session.exec(select(Rubric).order_by(col(Rubric.name), col(Rubric.version))).all())


def create_rubric(session: Session, *, actor: Actor, name: str, questions: list[dict[str, Any]]) -> Rubric:
    """Save a rubric as the next version of `name`; an unchanged rubric returns the latest version."""
    require(actor, "edit_rubrics")
    spec = RubricSpec.from_dicts(name, questions)
    stored = [q.to_dict() for q in spec.questions]
    return versioning.save_version(
        session,
        actor=actor,
        model=Rubric,
        scope={"name": spec.name},
        content=stored,
        values={"questions": stored},
        entity="rubric",
        entity_id=lambda r: f"{r.name}@{r.version}",
        payload={"questions": [q.key for q in spec.questions]},
    )


def is_used(session: Session, rubric_id: int) -> bool:
    """A version is used once a label, an adjudication or a judge config points at it."""
    from review_store.models import Adjudication, JudgeConfig, Label

    for table in (Label, Adjudication, JudgeConfig):
        if session.exec(select(table.id).where(table.rubric_id == rubric_id).limit(1)).first() is not None:
            return True
    return False


def edit_rubric(session: Session, *, actor: Actor, rubric_id: int, questions: list[dict[str, Any]]) -> Rubric:
    """Change a rubric: an unused latest version is changed in place; a used one is immutable, so the
    change becomes the next version and existing labels keep pointing at the version they answered.
    """
    require(actor, "edit_rubrics")
    rubric = get(session, rubric_id)
    newest = latest(session, rubric.name)
    if rubric.id != newest.id:
        raise ConflictError(
            f"{rubric.name}@{rubric.version} is not the latest version; edit version {newest.version}"
        )
    if is_used(session, rubric.id):
        return create_rubric(session, actor=actor, name=rubric.name, questions=questions)
    spec = RubricSpec.from_dicts(rubric.name, questions)
    stored = [q.to_dict() for q in spec.questions]
    digest = content_hash(stored)
    if digest == rubric.content_hash:
        return rubric
    rubric.questions, rubric.content_hash = stored, digest
    session.add(rubric)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="rubric.update",
        entity="rubric",
        entity_id=f"{rubric.name}@{rubric.version}",
        payload={"content_hash": digest, "questions": [q.key for q in spec.questions]},
    )
    return rubric
