"""`review-desk retrieval report`: retrieval precision@k and recall per release and segment (read-only,
through desk.retrieval; a bad --k is exit 2 via errors.exit_code_for)."""

from __future__ import annotations

import typer

from review_store.cli import desk, emit, json_option, resolve


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _text(out) -> str:
    if not out.rows:
        scope = " ".join(f"{k} {v}" for k, v in (("release", out.release), ("segment", out.segment)) if v)
        return (
            f"no judged traces{' for ' + scope if scope else ''}: add expected_chunks to golden examples "
            "or a 'chunks' question to the rubric"
        )
    lines = [
        f"retrieval quality at k={out.k} (precision@k over the top k chunks; recall at the same cut)",
        f"{'release':12} {'segment':16} {'traces':>6} {'golden':>6} {'review':>6} "
        f"{'precision@k':>11} {'recall':>8}",
    ]
    for r in out.rows:
        lines.append(
            f"{r.release:12} {r.segment or '(all)':16} {r.traces:>6} {r.from_golden:>6} {r.from_review:>6} "
            f"{_pct(r.precision_at_k):>11} {_pct(r.recall):>8}"
        )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Retrieval quality, separate from generation.", no_args_is_help=True)

    @group.command("report")
    def report(
        release: str = typer.Option(None, "--release", help="Only this release."),
        segment: str = typer.Option(None, "--segment", help="Only this segment."),
        k: int = typer.Option(
            None,
            "--k",
            help="Precision and recall at the top k chunks (1..100); default: setting retrieval.k.",
        ),
        as_json: bool = json_option(),
    ) -> None:
        """Precision@k and recall per release and segment, over golden examples with expected_chunks and
        reviewers' chunk relevance marks.

        Example: review-desk retrieval report --release r3 --json
        """
        as_json = resolve(as_json)
        out = desk().retrieval.report(release=release, segment=segment, k=k)
        emit({"ok": True, **out.to_json()}, _text(out), as_json)

    app.add_typer(group, name="retrieval")
