"""desk.evals: tier-1 checks (`review-desk eval run`) and the eval stack the Releases page shows.

Every method owns its transaction; the store functions (review_store.evals) hold the rules.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from review_store.desk import eval_views as views
from review_store.desk.base import Part, read_text_file
from review_store.evals import records, runner, stack
from review_store.models import CheckRun
from review_store.permissions import Actor
from review_store.releases.catalog import get_release


def _run_view(session: Session, run: CheckRun, release: str) -> views.CheckRunView:
    summary = records.summarize(session, run)
    return views.CheckRunView(
        id=run.id,
        release=release,
        created_at=run.created_at,
        created_by=run.created_by,
        checks_hash=run.checks_hash,
        golden_set_version=run.golden_set_version,
        outputs_source=run.outputs_source,
        recent=run.recent,
        cases=run.n_cases,
        cases_passed=run.n_cases_passed,
        results=run.n_results,
        results_failed=run.n_results_failed,
        skipped=run.n_skipped,
        pass_rate=run.pass_rate,
        passed=run.n_results_failed == 0,
        per_check=tuple(
            views.CheckCountView(name=c.name, kind=c.kind, applied=c.applied, failed=c.failed)
            for c in summary.per_check
        ),
        failures=tuple(
            views.CheckFailureView(case=f.case_key, source=f.source, check=f.check_name, detail=f.detail)
            for f in summary.failures
        ),
    )


class EvalsPart(Part):
    def run(
        self, *, actor: Actor, release: str, outputs: Path | None = None, recent: int = 0
    ) -> views.CheckRunView:
        """Run the release manifest's checks over the golden set (the eval job's `outputs` JSONL when
        given, else the release's stored outputs) and its `recent` newest traces; one audited run."""
        parsed, source = None, "store"
        if outputs is not None:
            source = str(outputs)
            parsed = runner.parse_outputs(read_text_file(outputs), source=source)
        with self._write(actor) as (session, who):
            run = runner.run_checks(
                session, actor=who, release=release, outputs=parsed, outputs_source=source, recent=recent
            )
            return _run_view(session, run, release)

    def latest(self, release: str) -> views.CheckRunView | None:
        """The release's newest check run (the gate's tier-1 evidence); None when never checked."""
        with self._read() as session:
            row = get_release(session, name=release)
            run = records.latest_check_run(session, release_id=row.id)
            return _run_view(session, run, release) if run is not None else None

    def stack(self, release: str) -> views.EvalStackView:
        """The release's eval stack: unit checks -> judge -> human, counts, pass rate and cost."""
        with self._read() as session:
            tiers = stack.eval_stack(session, release=release)
            return views.EvalStackView(
                release=release,
                tiers=tuple(
                    views.EvalTierView(
                        tier=t.tier,
                        count=t.count,
                        scored=t.scored,
                        passed=t.passed,
                        pass_rate=t.pass_rate,
                        cost_usd=t.cost_usd,
                        seconds=t.seconds,
                        errors=t.errors,
                        run_id=t.run_id,
                        run_at=t.run_at,
                    )
                    for t in tiers
                ),
            )
