"""`review-desk sample`: create review items with one sampling strategy, or the stored policy's quota."""

from __future__ import annotations

import typer

from review_store.cli import acting_actor, desk, emit, json_option, resolve


def register(app: typer.Typer) -> None:
    @app.command("sample")
    def sample(
        strategy: str = typer.Option(
            None,
            "--strategy",
            help="random, stratified, low_score, low_confidence, "
            "guardrail, thumbs_down, judge_disagreement; omit to run the stored policy.",
        ),
        n: int = typer.Option(50, "--n", help="How many items to create at most."),
        segment: str = typer.Option(None, "--segment", help="Only traces of this segment."),
        mode: str = typer.Option("proportional", "--mode", help="stratified: proportional or equal."),
        threshold: float = typer.Option(
            None, "--threshold", help="low_confidence / judge_disagreement cut-off."
        ),
        overlap: int = typer.Option(None, "--overlap", help="Reviewers per item (default: the policy's)."),
        as_user: str = typer.Option(
            None, "--as", help="Act as this user (lead; needs their token); default: system."
        ),
        as_of: str = typer.Option(
            None, "--as-of", help="Run as of this instant (ISO); the policy's 'today' is that day."
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Sample traces into the review queue; a trace already sampled is never sampled again.

        Example: review-desk sample --strategy low_confidence --n 100 --threshold 0.5 --as lena
        """
        as_json = resolve(as_json)
        d = desk(as_of=as_of)
        actor = acting_actor(d, as_user)
        if strategy is None:
            results = d.sampling.run_policy(actor=actor)
        else:
            results = (
                d.sampling.sample(
                    actor=actor,
                    strategy=strategy,
                    n=n,
                    segment=segment,
                    mode=mode,
                    threshold=threshold,
                    overlap_k=overlap,
                ),
            )
        payload = {
            "ok": True,
            "results": [r.to_json() for r in results],
            "created": sum(r.created for r in results),
        }
        text = "\n".join(f"{r.strategy}: created {r.created} of {r.requested}" for r in results)
        emit(payload, text, as_json)
