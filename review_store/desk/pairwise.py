"""desk.pairwise: the paired report of a candidate release against a baseline (shadow runs and pairwise
review), the non-inferiority rule's verdict on it, and the judge's run over the shadow pairs."""

from __future__ import annotations

from review_store.desk.base import Part, ReadModel
from review_store.desk.judge import RunError, RunReport
from review_store.pairwise.report import PairwiseReport, baseline_of, pairwise_report
from review_store.pairwise.stats import PairedStats
from review_store.permissions import Actor, refresh_actor


class PairedStatsView(ReadModel):
    """One source's outcomes on one question: A = the candidate, B = the baseline."""

    source: str  # "human" or a judge config name@version
    n: int
    wins: int  # candidate better
    losses: int  # baseline better
    ties: int
    win_rate: float | None  # (wins + ties/2) / n
    delta: float | None  # (wins - losses) / n
    sign_p: float  # exact two-sided sign test, ties dropped
    ci_low: float | None  # paired bootstrap percentile CI of delta
    ci_high: float | None
    confidence: float


class PairwiseQuestionView(ReadModel):
    question: str
    human: PairedStatsView
    judges: tuple[PairedStatsView, ...]
    critical: bool  # the gate policy has a pairwise:<question> row
    margin: float | None
    holds: bool | None  # the rule's verdict on a critical question (None: not critical)
    note: str


class PairwiseReportView(ReadModel):
    candidate: str
    baseline: str
    pairs: int  # shadow pairs of the candidate against the baseline
    policy_version: int | None
    passed: bool  # every critical question holds
    questions: tuple[PairwiseQuestionView, ...]


def _stats(source: str, s: PairedStats) -> PairedStatsView:
    return PairedStatsView(
        source=source,
        n=s.n,
        wins=s.wins,
        losses=s.losses,
        ties=s.ties,
        win_rate=s.win_rate,
        delta=s.delta,
        sign_p=s.sign_p,
        ci_low=s.ci_low,
        ci_high=s.ci_high,
        confidence=s.confidence,
    )


def _report_view(found: PairwiseReport) -> PairwiseReportView:
    return PairwiseReportView(
        candidate=found.candidate,
        baseline=found.baseline,
        pairs=found.pairs,
        policy_version=found.policy_version,
        passed=found.passed,
        questions=tuple(
            PairwiseQuestionView(
                question=q.question,
                human=_stats("human", q.human),
                judges=tuple(_stats(j.source, j.stats) for j in q.judges),
                critical=q.margin is not None,
                margin=q.margin,
                holds=q.holds,
                note=q.note,
            )
            for q in found.questions
        ),
    )


class PairwisePart(Part):
    def report(self, *, candidate: str, baseline: str) -> PairwiseReportView:
        """Per pairwise question: win rate, ties, sign test and bootstrap CI from human labels and from each
        judge config (separately), and the non-inferiority rule's verdict on the policy's critical
        questions. ValidationFailed when the two releases are missing or the same."""
        with self._read() as session:
            return _report_view(pairwise_report(session, candidate=candidate, baseline=baseline))

    def for_release(self, release: str) -> PairwiseReportView | None:
        """The report of `release` as candidate against the baseline its shadow run answered (the one the
        gate's pairwise rows compare against, `baseline_of`); None when it has no shadow run."""
        with self._read() as session:
            baseline = baseline_of(session, release)
            if baseline is None:
                return None
            return _report_view(pairwise_report(session, candidate=release, baseline=baseline))

    def judge(
        self,
        *,
        actor: Actor,
        config: str,
        candidate: str,
        baseline: str,
        limit: int | None = None,
        budget_usd: float | None = None,
        concurrency: int = 4,
        timeout_s: float = 60,
        retry_errors: bool = False,
        mock_response: str | None = None,
    ) -> RunReport:
        """The judge `config` answers its rubric's pairwise questions on the shadow pairs lacking its verdict
        (leads and admins; audited). No transaction is open while the provider is called."""
        from review_store.judge.pairwise import run_pairwise_judge

        with self._read() as session:
            who = refresh_actor(session, actor)
        with self._clock():
            report = run_pairwise_judge(
                self.desk.engine,
                actor=who,
                config=config,
                candidate=candidate,
                baseline=baseline,
                limit=limit,
                budget_usd=budget_usd,
                concurrency=concurrency,
                timeout_s=timeout_s,
                retry_errors=retry_errors,
                mock_response=mock_response,
            )
        data = report.as_dict()
        data["errors"] = tuple(RunError(**e) for e in data["errors"])
        return RunReport(**data)
