"""`review-desk pairwise report|judge`: the paired report of a candidate against a baseline (shadow runs and
pairwise review) with the non-inferiority rule's verdict, and the judge's run over the shadow pairs."""

from __future__ import annotations

import typer

from review_store.cli import EXIT_FAILED, acting_actor, desk, emit, json_option, resolve
from review_store.cli.judge import AS_USER_HELP


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _text(out) -> str:
    lines = [f"{out.candidate} (candidate) vs {out.baseline} (baseline): {out.pairs} shadow pairs"]
    if not out.questions:
        return lines[0] + "\nno pairwise question in any rubric and none in the gate policy"
    lines.append(
        f"{'question':16} {'source':18} {'n':>5} {'wins':>5} {'loss':>5} {'ties':>5} {'win rate':>8} "
        f"{'delta':>7} {'95% CI':>17} {'sign p':>8}"
    )
    for q in out.questions:
        for s in (q.human, *q.judges):
            ci = f"[{_num(s.ci_low, '+.3f')}, {_num(s.ci_high, '+.3f')}]"
            lines.append(
                f"{q.question:16} {s.source:18} {s.n:>5} {s.wins:>5} {s.losses:>5} {s.ties:>5} "
                f"{_num(s.win_rate, '.3f'):>8} {_num(s.delta, '+.3f'):>7} {ci:>17} {s.sign_p:>8.4f}"
            )
    critical = [q for q in out.questions if q.critical]
    if critical:
        lines.append(f"non-inferiority rule (gate policy v{out.policy_version}), from the human outcomes:")
        for q in critical:
            lines.append(f"  {q.question}: {'holds' if q.holds else 'FAILS'} (margin {q.margin:g}) {q.note}")
        lines.append(
            "rule passes" if out.passed else "rule FAILS: at least one critical question may be worse"
        )
    else:
        lines.append("no critical question: the gate policy has no pairwise:<question> row")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Shadow runs and pairwise review of a candidate release.", no_args_is_help=True)

    @group.command("report")
    def report(
        candidate: str = typer.Option(..., "--candidate", help="The release that ran in shadow."),
        baseline: str = typer.Option(
            ..., "--baseline", help="The release whose production traffic it shadowed."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Per pairwise question: win rate (ties count half), wins, losses, ties, exact sign test and a paired
        bootstrap CI of delta, from human labels and each judge separately; exit 1 when a critical
        question fails the non-inferiority rule (the gate policy's pairwise:<question> rows).

        Example: review-desk pairwise report --candidate r3 --baseline r2 --json
        """
        as_json = resolve(as_json)
        out = desk().pairwise.report(candidate=candidate, baseline=baseline)
        emit({"ok": out.passed, **out.to_json()}, _text(out), as_json)
        if not out.passed:
            raise typer.Exit(EXIT_FAILED)

    @group.command("judge")
    def judge(
        config: str = typer.Option(
            ..., "--config", help="Judge config NAME or NAME@VERSION (its rubric has a pairwise question)."
        ),
        candidate: str = typer.Option(..., "--candidate", help="The release that ran in shadow."),
        baseline: str = typer.Option(
            ..., "--baseline", help="The release whose production traffic it shadowed."
        ),
        limit: int = typer.Option(None, "--limit", min=0, help="At most N pairs (oldest first)."),
        budget: float = typer.Option(None, "--budget", min=0.0, help="Stop scheduling calls once USD spent."),
        retry_errors: bool = typer.Option(False, "--retry-errors", help="Judge again verdicts that errored."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """The judge compares each shadow pair (A and B as reviewers see them) on the pairwise questions.

        Example: review-desk pairwise judge --config acme-judge --candidate r3 --baseline r2 --budget 0.50
        """
        as_json = resolve(as_json)
        d = desk()
        out = d.pairwise.judge(
            actor=acting_actor(d, as_user),
            config=config,
            candidate=candidate,
            baseline=baseline,
            limit=limit,
            budget_usd=budget,
            retry_errors=retry_errors,
        )
        lines = [
            f"run {out.run_id} of {out.config}: {out.n_calls} calls, {out.n_ok} ok, {out.n_error} errors"
        ]
        if out.stopped_reason:
            lines.append(f"stopped: {out.stopped_reason}")
        lines += [f"  trace {e.trace_id} {e.question}: {e.error}" for e in out.errors]
        emit({"ok": True, **out.to_json()}, "\n".join(lines), as_json)

    app.add_typer(group, name="pairwise")
