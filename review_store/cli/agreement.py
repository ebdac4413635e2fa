"""`review-desk agreement`: how much raters (humans, judges) agree, with a confidence interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from review_store.cli import EXIT_BAD_INPUT, desk, emit, fail, json_option, resolve


def summary_text(payload: dict[str, Any], *, title: str) -> str:
    """Readable report of a summary payload (shared by the ratings-file and the store variants)."""

    def num(value: Any) -> str:
        return "undefined" if value is None else f"{value:.3f}"

    lo, hi = payload["ci95"]
    ci = "no interval" if lo is None else f"95% CI [{lo:.3f}, {hi:.3f}]"
    lines = [
        f"{title}  level: {payload['level']}",
        f"items: {payload['n_items']} (pairable {payload['n_pairable_items']}, "
        f"unpairable {payload['n_unpairable_items']})  raters: {payload['n_raters']}  "
        f"ratings: {payload['n_ratings']}  missing: {payload['n_missing']}",
        f"Krippendorff's alpha: {num(payload['krippendorff_alpha'])}  {ci}  "
        f"({payload['resamples']} resamples, seed {payload['seed']})",
        f"percent agreement: {num(payload['percent_agreement'])}"
        + (
            f"  adjacent (+-1): {num(payload['adjacent_agreement'])}"
            if "adjacent_agreement" in payload
            else ""
        ),
    ]
    if "cohen_kappa" in payload:
        kind = "unweighted" if payload["level"] == "nominal" else "quadratic-weighted"
        lines.append(
            f"Cohen's kappa ({kind}): {num(payload['cohen_kappa'])}  "
            f"unweighted: {num(payload['cohen_kappa_unweighted'])}"
        )
    if "fleiss_kappa" in payload:
        lines.append(f"Fleiss' kappa: {num(payload['fleiss_kappa'])}")
    if payload["unpairable_items"]:
        shown = ", ".join(str(i) for i in payload["unpairable_items"][:10])
        more = len(payload["unpairable_items"]) - 10
        lines.append(
            "not pairable (fewer than two ratings, left out): "
            + shown
            + (f" and {more} more" if more > 0 else "")
        )
    trust = payload.get("trust")
    if trust is None:
        lines.append(f"verdict: {payload['verdict']}")
    else:  # THE trust verdict (the release gate's), with its own numbers: one reference answer per item
        lines.append(f"verdict: {trust['verdict']} ({trust['reason']})")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("agreement")
    def agreement(
        ratings: Path | None = typer.Option(
            None, "--ratings", help="CSV with header item,rater,value; empty value = missing."
        ),
        level: str = typer.Option("nominal", "--level", help="nominal, ordinal, interval or ratio."),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling (same seed, same CI)."),
        resamples: int = typer.Option(
            1000, "--resamples", help="Bootstrap resamples for the 95% CI (0: none)."
        ),
        judge: str | None = typer.Option(
            None, "--judge", help="Judge config NAME (latest version) or NAME@VERSION, compared with humans."
        ),
        question: str | None = typer.Option(None, "--question", help="Rubric question key (with --judge)."),
        segment: str | None = typer.Option(
            None, "--segment", help="Only traces of this segment (with --judge)."
        ),
        human: str = typer.Option(
            "item",
            "--human",
            help="With --judge: item (one reference answer per item, the verdict's pairing), each "
            "(every label a unit) or majority.",
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Agreement of any ratings table (--ratings), or of a judge config with the human labels in the
        store (--judge --question): Krippendorff's alpha with a bootstrap 95% CI, percent agreement,
        Cohen's kappa (two raters) or Fleiss' kappa (more), and the trust verdict.

        Example: review-desk agreement --ratings ratings.csv --level ordinal --json
        Example: review-desk agreement --judge acme-judge@1 --question correctness --segment refunds --json
        """
        if resamples < 0:
            fail("--resamples must be 0 or more", EXIT_BAD_INPUT, as_json)
        if judge is not None or question is not None:
            if ratings is not None:
                fail("give either --ratings or --judge/--question, not both", EXIT_BAD_INPUT, as_json)
            _store_variant(as_json, judge, question, segment, human, seed, resamples)
            return
        as_json = resolve(as_json)
        if ratings is None:
            fail(
                "give --ratings FILE.csv (header item,rater,value), or --judge NAME --question KEY",
                EXIT_BAD_INPUT,
                as_json,
            )
            return
        if level not in ("nominal", "ordinal", "interval", "ratio"):
            fail(
                f"--level must be one of nominal, ordinal, interval, ratio, not {level!r}",
                EXIT_BAD_INPUT,
                as_json,
            )
        summary = desk().agreement.ratings(path=ratings, level=level, seed=seed, resamples=resamples)
        payload = summary.to_json()
        emit(payload, summary_text(payload, title=f"ratings: {ratings.name}"), as_json)


def _store_variant(
    as_json: bool,
    judge: str | None,
    question: str | None,
    segment: str | None,
    human: str,
    seed: int,
    resamples: int,
) -> None:
    """Judge vs humans from the store: the --ratings keys plus human_human_alpha, the confusion matrix
    and THE trust verdict (`verdict`, `trust`: the release gate's, for this question and segment)."""
    as_json = resolve(as_json)
    if not judge or not question:
        fail("--judge NAME[@VERSION] and --question KEY go together", EXIT_BAD_INPUT, as_json)
    result = desk().agreement.judge_vs_human(
        judge=judge or "",
        question=question or "",
        segment=segment,
        human=human,
        seed=seed,
        resamples=resamples,
    )
    payload = result.to_json()
    ceiling = result.human_human_alpha
    text = summary_text(payload, title=f"{result.judge} vs humans ({human}) on {question}")
    text += f"\nlabelled items with a verdict: {result.n_labelled_items}  human-human alpha (ceiling): " + (
        "undefined" if ceiling is None else f"{ceiling:.3f}"
    )
    emit(payload, text, as_json)
