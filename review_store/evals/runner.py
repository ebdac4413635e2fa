"""`run_checks`: a release manifest's tier-1 checks over the golden set and recent traffic, stored and audited.

The cases:
- golden: per golden example, the release's output for its input: from the eval job's outputs file when
  one is given (JSONL `{"trace": golden trace id, "output": text, "tokens_out"?: n}`), else the release's
  newest trace with exactly that input; an example without an output of the release is skipped (counted);
- recent: the release's `recent` newest traces, less those a golden case of the run already stands for.

Each trace counts once in the pass rate: when one of the `recent` newest traces is a golden example's
trace (of a golden case in this run) or the trace whose stored output a golden case checked, the golden
case wins and the recent one is left out (the audit event's `recent_in_golden` counts them). Golden wins
because every check that applies to the recent case applies to the golden one too (must_refuse's
`examples` apply to golden cases only).

A case passes when every check that applies to it passes; the run's pass rate (cases passed / cases) is
the gate's `tier1_pass_rate`. Nothing is written when the input is bad (ValidationFailed names it).
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from review_store import audit, golden
from review_store.errors import ValidationFailed
from review_store.evals.checks import Case, applies, run_check
from review_store.hashing import content_hash
from review_store.models import CheckResult, CheckRun, GoldenExample, Trace
from review_store.permissions import Actor, require
from review_store.releases.catalog import get_release

_CHUNK = 500


def parse_outputs(text: str, *, source: str = "outputs") -> dict[str, dict[str, Any]]:
    """The eval job's outputs JSONL -> {golden trace id: {"output", "tokens_out"}}; errors name the line."""
    out: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ValidationFailed(f"{where}: expected an object with 'trace' and 'output'")
        unknown = sorted(set(data) - {"trace", "output", "tokens_out"})
        if unknown:
            raise ValidationFailed(f"{where}: unknown field(s) {', '.join(unknown)}")
        for key in ("trace", "output"):
            if not isinstance(data.get(key), str):
                raise ValidationFailed(f"{where}: field '{key}' must be a string")
        tokens = data.get("tokens_out")
        if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0):
            raise ValidationFailed(
                f"{where}: field 'tokens_out' must be a non-negative integer, got {tokens!r}"
            )
        if data["trace"] in out:
            raise ValidationFailed(f"{where}: trace {data['trace']!r} appears twice")
        out[data["trace"]] = {"output": data["output"], "tokens_out": tokens, "line": number}
    return out


def _golden(session: Session) -> list[tuple[str, str]]:
    """(trace id, input) of every golden example, in trace order."""
    rows = session.exec(
        select(Trace.external_id, GoldenExample.input)
        .join(GoldenExample, col(GoldenExample.trace_id) == Trace.id)
        .order_by(col(Trace.external_id))
    ).all()
    return [(ext, text) for ext, text in rows]


def _stored_outputs(
    session: Session, release: str, inputs: list[str]
) -> dict[str, tuple[str, int | None, str]]:
    """input -> (output, tokens_out, trace id) of the release's newest trace with exactly that input."""
    found: dict[str, tuple[str, int | None, str]] = {}
    unique = sorted(set(inputs))
    for i in range(0, len(unique), _CHUNK):
        rows = session.exec(
            select(Trace.input, Trace.output, Trace.tokens_out, Trace.external_id)
            .where(Trace.release == release, col(Trace.input).in_(unique[i : i + _CHUNK]))
            .order_by(col(Trace.ts).desc(), col(Trace.id).desc())
        ).all()
        for text, output, tokens, ext in rows:
            found.setdefault(text, (output, tokens, ext))
    return found


def _cases(
    session: Session, release: str, outputs: dict[str, dict[str, Any]] | None, recent: int, source: str
) -> tuple[list[Case], int, int]:
    """The run's cases, the golden examples skipped (no output of the release) and the recent traces left
    out because a golden case stands for them (see the module docstring)."""
    examples = _golden(session)
    cases: list[Case] = []
    answers: dict[str, tuple[str, int | None, str | None]]  # golden trace -> (output, tokens, from trace)
    if outputs is not None:
        known = {ext for ext, _ in examples}
        for trace, given in outputs.items():
            if trace not in known:
                raise ValidationFailed(f"{source}:{given['line']}: trace {trace!r} is not in the golden set")
        answers = {t: (o["output"], o["tokens_out"], None) for t, o in outputs.items()}
    else:
        stored = _stored_outputs(session, release, [text for _, text in examples])
        answers = {ext: stored[text] for ext, text in examples if text in stored}
    covered: set[str] = set()  # traces a golden case stands for: its example's trace, its output's trace
    for ext, text in examples:
        if ext in answers:
            output, tokens, answered_by = answers[ext]
            cases.append(Case(f"golden:{ext}", "golden", ext, text, output, tokens))
            covered.update(t for t in (ext, answered_by) if t is not None)
    skipped = len(examples) - len(cases)
    overlap = 0
    if recent:
        rows = session.exec(
            select(Trace.external_id, Trace.input, Trace.output, Trace.tokens_out)
            .where(Trace.release == release)
            .order_by(col(Trace.ts).desc(), col(Trace.id).desc())
            .limit(recent)
        ).all()
        overlap = sum(ext in covered for ext, *_ in rows)
        cases += [
            Case(f"trace:{ext}", "recent", ext, text, out, tok)
            for ext, text, out, tok in rows
            if ext not in covered
        ]
    return cases, skipped, overlap


def _check_examples(checks: list[dict[str, Any]], release: str, golden_ids: set[str]) -> None:
    for i, check in enumerate(checks):
        for trace in check.get("examples", ()):
            if trace not in golden_ids:
                raise ValidationFailed(
                    f"release {release} manifest checks[{i}].examples: {trace!r} is not in the golden set"
                )


def run_checks(
    session: Session,
    *,
    actor: Actor,
    release: str,
    outputs: dict[str, dict[str, Any]] | None = None,
    outputs_source: str = "store",
    recent: int = 0,
) -> CheckRun:
    """Run the release manifest's checks over its golden-set outputs (and `recent` newest traces), store
    one CheckRun with a CheckResult per check and case, and audit it."""
    require(actor, "run_checks")
    if isinstance(recent, bool) or not isinstance(recent, int) or recent < 0:
        raise ValidationFailed(f"--recent: must be a non-negative integer, got {recent!r}")
    row = get_release(session, name=release)
    checks = list(row.manifest.get("checks") or [])
    if not checks:
        raise ValidationFailed(
            f"release {release}: its manifest declares no checks (add a `checks:` section: README, Releases)"
        )
    _check_examples(checks, release, {ext for ext, _ in _golden(session)})
    cases, skipped, overlap = _cases(session, release, outputs, recent, outputs_source)
    results: list[CheckResult] = []
    n_cases = n_passed = 0
    for case in cases:
        answered = [(c, run_check(c, case)) for c in checks if applies(c, case)]
        if not answered:
            continue
        n_cases += 1
        n_passed += all(outcome.passed for _, outcome in answered)
        results += [
            CheckResult(
                run_id=0,
                case_key=case.key,
                source=case.source,
                check_name=check["name"],
                kind=check["kind"],
                passed=outcome.passed,
                detail=outcome.detail,
            )
            for check, outcome in answered
        ]
    if not n_cases:
        raise ValidationFailed(
            f"release {release}: nothing to check: {skipped} golden example(s) have no output of this release "
            "(give the eval job's outputs with --outputs FILE) and no recent trace matched a check"
        )
    run = CheckRun(
        release_id=row.id,
        checks_hash=content_hash(checks),
        golden_set_version=golden.version_hash(session),
        outputs_source=outputs_source[:200],
        recent=recent,
        n_cases=n_cases,
        n_cases_passed=n_passed,
        n_results=len(results),
        n_results_failed=sum(not r.passed for r in results),
        n_skipped=skipped,
        pass_rate=n_passed / n_cases,
        created_by=actor.username,
    )
    session.add(run)
    session.flush()
    for result in results:
        result.run_id = run.id
    session.add_all(results)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="eval.checks",
        entity="release",
        entity_id=release,
        payload={
            "check_run_id": run.id,
            "checks_hash": run.checks_hash,
            "golden_set_version": run.golden_set_version,
            "outputs": run.outputs_source,
            "recent": recent,
            "recent_in_golden": overlap,
            "cases": n_cases,
            "cases_passed": n_passed,
            "results_failed": run.n_results_failed,
            "skipped": skipped,
        },
    )
    return run
