"""`review-desk eval ...`: tier-1 checks of a release manifest (`eval run`) and its eval stack
(`eval stack`). Both call the facade (`desk.evals`) only; domain errors become exit codes in the group
handler (errors.exit_code_for)."""

from __future__ import annotations

from pathlib import Path

import typer

from review_store.cli import EXIT_FAILED, acting_actor, desk, emit, json_option, resolve


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def _run_text(run) -> str:
    verdict = "PASS" if run.passed else "FAIL"
    lines = [
        f"tier-1 checks of {run.release} (run {run.id}): {verdict} · {run.cases_passed}/{run.cases} cases "
        f"pass every check ({_pct(run.pass_rate)}) · {run.results_failed} of {run.results} results failed"
        + (f" · {run.skipped} golden example(s) without an output skipped" if run.skipped else ""),
        f"{'check':28} {'kind':18} {'applied':>8} {'failed':>7}",
    ]
    lines += [f"{c.name:28} {c.kind:18} {c.applied:>8} {c.failed:>7}" for c in run.per_check]
    lines += [f"fail {f.case} [{f.check}]: {f.detail}" for f in run.failures]
    if run.results_failed > len(run.failures):
        lines.append(
            f"... and {run.results_failed - len(run.failures)} more failures (--json has the first 50)"
        )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    ev = typer.Typer(
        help="Three-tier evals: tier-1 checks from the manifest, the eval stack.", no_args_is_help=True
    )

    @ev.command("run")
    def run(
        release: str = typer.Option(..., "--release", help="The release whose manifest declares the checks."),
        recent: int = typer.Option(0, "--recent", min=0, help="Also check the release's N newest traces."),
        outputs: Path = typer.Option(
            None,
            "--outputs",
            help='The eval job\'s JSONL of the release\'s golden-set outputs ({"trace", "output", '
            '"tokens_out"?}); default: the release\'s stored trace for each golden input.',
        ),
        user: str = typer.Option(None, "--as", help="Run as this user (needs their token); default: system."),
        as_json: bool = json_option(),
    ) -> None:
        """Run the manifest's checks over the golden set (and recent traffic); exit 0 all pass, 1 any failed.

        Example: review-desk eval run --release r3 --outputs r3-golden-outputs.jsonl --recent 200
        """
        as_json = resolve(as_json)
        d = desk()
        out = d.evals.run(actor=acting_actor(d, user), release=release, outputs=outputs, recent=recent)
        emit({"ok": True, **out.to_json()}, _run_text(out), as_json)
        if not out.passed:
            raise typer.Exit(EXIT_FAILED)

    @ev.command("stack")
    def stack(
        release: str = typer.Option(..., "--release", help="Release name."),
        as_json: bool = json_option(),
    ) -> None:
        """The eval stack of a release: unit checks -> judge -> human, counts, pass rate and cost.

        Example: review-desk eval stack --release r3 --json
        """
        as_json = resolve(as_json)
        out = desk().evals.stack(release)
        lines = [
            f"eval stack of {out.release}",
            f"{'tier':8} {'count':>7} {'passed':>9} {'pass rate':>10}  cost",
        ]
        for t in out.tiers:
            if t.tier == "human":
                cost = f"{t.count} labels, {t.seconds / 60:.1f} min"
            else:
                cost = f"${t.cost_usd:.4f}" + (f" ({t.errors} failed calls)" if t.errors else "")
            lines.append(
                f"{t.tier:8} {t.count:>7} {t.passed:>4}/{t.scored:<4} {_pct(t.pass_rate):>10}  {cost}"
            )
        emit(out.to_json(), "\n".join(lines), as_json)

    app.add_typer(ev, name="eval")
