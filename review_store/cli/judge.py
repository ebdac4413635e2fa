"""`review-desk judge ...`: create judge configs, list them, run them on traces without a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from review_store.cli import db_option, emit, fail, get_engine, json_option, resolve
from review_store.errors import ReviewStoreError


def _actor(session, username: str):
    from review_store.permissions import resolve_actor

    return resolve_actor(session, username)


def register(app: typer.Typer) -> None:
    judge_app = typer.Typer(help="LLM-as-a-judge: configs and runs.", no_args_is_help=True)

    @judge_app.command("create")
    def create(
        name: str = typer.Option(
            ..., "--name", help="Judge name; saving changed content makes the next version."
        ),
        model: str = typer.Option(..., "--model", help="litellm model string, e.g. openai/gpt-4o-mini."),
        rubric: str = typer.Option(..., "--rubric", help="Rubric name (latest version) or NAME@VERSION."),
        template_file: Path = typer.Option(
            None,
            "--template-file",
            help="Prompt template; placeholders {question} {guidelines} {allowed} "
            "{input} {output} {context} {key} {kind}. Default: the built-in template.",
        ),
        api_base: str = typer.Option(None, "--api-base", help="OpenAI-compatible server URL (self-hosted)."),
        params: str = typer.Option(
            None, "--params", help='litellm parameters as JSON, e.g. {"temperature": 0}.'
        ),
        as_user: str = typer.Option("system", "--as", help="Acting user (needs the lead role)."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Save a judge config as the next version of NAME (unchanged content keeps the latest).

        Example: review-desk judge create --name support-judge --model openai/gpt-4o-mini --rubric support --as lead1
        """
        from review_store import judge, rubrics
        from review_store.db import session_scope
        from review_store.errors import NotFound

        db, as_json = resolve(db, as_json)
        template = judge.DEFAULT_TEMPLATE
        if template_file is not None:
            try:
                template = template_file.read_text(encoding="utf-8")
            except OSError as exc:
                fail(f"--template-file {template_file}: {exc.strerror or exc}", as_json=as_json)
        try:
            parsed = json.loads(params) if params else None
        except json.JSONDecodeError as exc:
            fail(f"--params: not JSON ({exc.msg} at column {exc.colno})", as_json=as_json)
        if parsed is not None and not isinstance(parsed, dict):
            fail("--params: must be a JSON object", as_json=as_json)
        try:
            with session_scope(get_engine(db)) as session:
                rname, _, rversion = rubric.partition("@")
                if rversion:
                    found = next(
                        (r for r in rubrics.list_rubrics(session) if f"{r.name}@{r.version}" == rubric), None
                    )
                    if found is None:
                        raise NotFound(f"no rubric {rubric}")
                else:
                    found = rubrics.latest(session, rname)
                config = judge.create_judge_config(
                    session,
                    actor=_actor(session, as_user),
                    name=name,
                    model=model,
                    prompt_template=template,
                    rubric_id=found.id,
                    params=parsed,
                    api_base=api_base,
                )
                label, rubric_label = judge.label_of(config), f"{found.name}@{found.version}"
        except ReviewStoreError as exc:
            fail(str(exc), as_json=as_json)
        emit(
            {"ok": True, "config": label, "rubric": rubric_label, "model": model},
            f"judge config {label} (rubric {rubric_label}, model {model})",
            as_json,
        )

    @judge_app.command("list")
    def list_configs(db: str = db_option(), as_json: bool = json_option()) -> None:
        """List every judge config version with its rubric and verdict counts.

        Example: review-desk judge list --json
        """
        from review_store import judge
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        with read_session(get_engine(db)) as session:
            configs = judge.list_judge_configs(session)
        lines = [
            f"{c['config']:<28} {c['model']:<32} rubric {c['rubric']:<16} "
            f"{c['verdicts_ok']} ok, {c['verdicts_error']} errors"
            + (f"  ({c['api_base']})" if c["api_base"] else "")
            for c in configs
        ]
        emit({"ok": True, "configs": configs}, "\n".join(lines) or "no judge configs yet", as_json)

    @judge_app.command("run")
    def run(
        config: str = typer.Option(..., "--config", help="NAME (latest version) or NAME@VERSION."),
        limit: int = typer.Option(None, "--limit", min=0, help="At most N traces (newest first)."),
        budget: float = typer.Option(None, "--budget", min=0.0, help="Stop scheduling calls once USD spent."),
        concurrency: int = typer.Option(None, "--concurrency", min=1, help="Calls in flight (default 4)."),
        timeout: float = typer.Option(None, "--timeout", min=0.1, help="Seconds per call (default 60)."),
        retry_errors: bool = typer.Option(False, "--retry-errors", help="Judge again verdicts that errored."),
        scheduled: bool = typer.Option(False, "--scheduled", help="Mark the run as scheduled (cron, CI)."),
        as_user: str = typer.Option("system", "--as", help="Acting user (lead or admin)."),
        db: str = db_option(),
        as_json: bool = json_option(),
    ) -> None:
        """Judge the traces that lack a verdict of CONFIG; errored calls are reported, exit 0 when the run ends.

        Example: review-desk judge run --config support-judge --limit 200 --budget 0.50 --as lead1
        """
        from review_store import judge
        from review_store.config import get_settings
        from review_store.db import read_session

        db, as_json = resolve(db, as_json)
        settings = get_settings()
        engine = get_engine(db)
        try:
            with read_session(engine) as session:
                actor = _actor(session, as_user)
                judge.get_judge_config(session, config)
            report = judge.run_judge(
                engine,
                actor=actor,
                config=config,
                limit=limit,
                budget_usd=budget,
                concurrency=concurrency or settings.judge_concurrency,
                timeout_s=timeout or settings.judge_timeout_s,
                retry_errors=retry_errors,
                scheduled=scheduled,
            )
        except ReviewStoreError as exc:
            fail(str(exc), as_json=as_json)
        cost = f"${report.cost_usd:.4f}" + (
            f" ({report.n_cost_unknown} calls of unknown cost)" if report.n_cost_unknown else ""
        )
        lines = [
            f"run {report.run_id} of {report.config}: {report.n_traces} traces, {report.n_calls} calls, "
            f"{report.n_ok} ok, {report.n_error} errors, cost {cost}"
        ]
        if report.stopped_reason:
            lines.append(f"stopped: {report.stopped_reason}")
        lines += [f"  trace {e['trace_id']} {e['question']}: {e['error']}" for e in report.errors]
        emit({"ok": True, **report.as_dict()}, "\n".join(lines), as_json)

    app.add_typer(judge_app, name="judge")
