"""`review-desk judge ...`: create judge configs, list them, run them on traces without a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from review_store.cli import acting_actor, desk, emit, fail, json_option, resolve

AS_USER_HELP = (
    "Act as this user (needs their token: REVIEW_DESK_TOKEN or --token-stdin); default: the operator."
)


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
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """Save a judge config as the next version of NAME (unchanged content keeps the latest).

        Example: review-desk judge create --name support-judge --model openai/gpt-4o-mini --rubric support
        """
        as_json = resolve(as_json)
        template = None
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
        d = desk()
        config = d.judge.create(
            actor=acting_actor(d, as_user),
            name=name,
            model=model,
            rubric=rubric,
            prompt_template=template,
            params=parsed,
            api_base=api_base,
        )
        emit(
            {"ok": True, "config": config.config, "rubric": config.rubric, "model": config.model},
            f"judge config {config.config} (rubric {config.rubric}, model {config.model})",
            as_json,
        )

    @judge_app.command("list")
    def list_configs(as_json: bool = json_option()) -> None:
        """List every judge config version with its rubric and verdict counts.

        Example: review-desk judge list --json
        """
        as_json = resolve(as_json)
        configs = desk().judge.configs()
        lines = [
            f"{c.config:<28} {c.model:<32} rubric {c.rubric:<16} "
            f"{c.verdicts_ok} ok, {c.verdicts_error} errors" + (f"  ({c.api_base})" if c.api_base else "")
            for c in configs
        ]
        rows = [{k: v for k, v in c.to_json().items() if k != "prompt_template"} for c in configs]
        emit({"ok": True, "configs": rows}, "\n".join(lines) or "no judge configs yet", as_json)

    @judge_app.command("run")
    def run(
        config: str = typer.Option(..., "--config", help="NAME (latest version) or NAME@VERSION."),
        limit: int = typer.Option(None, "--limit", min=0, help="At most N traces (newest first)."),
        budget: float = typer.Option(None, "--budget", min=0.0, help="Stop scheduling calls once USD spent."),
        concurrency: int = typer.Option(None, "--concurrency", min=1, help="Calls in flight (default 4)."),
        timeout: float = typer.Option(None, "--timeout", min=0.1, help="Seconds per call (default 60)."),
        retry_errors: bool = typer.Option(False, "--retry-errors", help="Judge again verdicts that errored."),
        scheduled: bool = typer.Option(False, "--scheduled", help="Mark the run as scheduled (cron, CI)."),
        as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
        as_json: bool = json_option(),
    ) -> None:
        """Judge the traces that lack a verdict of CONFIG; errored calls are reported, exit 0 when the run ends.

        Example: review-desk judge run --config support-judge --limit 200 --budget 0.50
        """
        from review_store.config import get_settings

        as_json = resolve(as_json)
        settings = get_settings()
        d = desk()
        report = d.judge.run(
            actor=acting_actor(d, as_user),
            config=config,
            limit=limit,
            budget_usd=budget,
            concurrency=concurrency or settings.judge_concurrency,
            timeout_s=timeout or settings.judge_timeout_s,
            retry_errors=retry_errors,
            scheduled=scheduled,
        )
        cost = f"${report.cost_usd:.4f}" + (
            f" ({report.n_cost_unknown} calls of unknown cost)" if report.n_cost_unknown else ""
        )
        lines = [
            f"run {report.run_id} of {report.config}: {report.n_traces} traces, {report.n_calls} calls, "
            f"{report.n_ok} ok, {report.n_error} errors, cost {cost}"
        ]
        if report.stopped_reason:
            lines.append(f"stopped: {report.stopped_reason}")
        lines += [f"  trace {e.trace_id} {e.question}: {e.error}" for e in report.errors]
        emit({"ok": True, **report.to_json()}, "\n".join(lines), as_json)

    app.add_typer(judge_app, name="judge")
