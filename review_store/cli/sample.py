"""`review-desk sample`: create review items with one sampling strategy, or the stored policy's quota."""

from __future__ import annotations

import typer

from review_store.cli import EXIT_BAD_INPUT, db_option, emit, fail, get_engine, json_option, resolve


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
        as_user: str = typer.Option("system", "--as", help="Acting user (lead or admin)."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Sample traces into the review queue; a trace already sampled is never sampled again.

        Example: review-desk sample --strategy low_confidence --n 100 --threshold 0.5 --as lena
        """
        from review_store import sampling
        from review_store.db import session_scope
        from review_store.errors import ReviewStoreError
        from review_store.permissions import resolve_actor

        db, as_json = resolve(db, as_json)
        try:
            with session_scope(get_engine(db)) as session:
                actor = resolve_actor(session, as_user)
                if strategy is None:
                    results = sampling.run_policy(session, actor=actor)
                else:
                    results = [
                        sampling.sample(
                            session,
                            actor=actor,
                            strategy=strategy,
                            n=n,
                            segment=segment,
                            mode=mode,
                            threshold=threshold,
                            overlap_k=overlap,
                        )
                    ]
        except ReviewStoreError as exc:
            fail(str(exc), EXIT_BAD_INPUT, as_json)
            return
        payload = {
            "ok": True,
            "results": [r.as_dict() for r in results],
            "created": sum(r.created for r in results),
        }
        text = "\n".join(f"{r.strategy}: created {r.created} of {r.requested}" for r in results)
        emit(payload, text, as_json)
