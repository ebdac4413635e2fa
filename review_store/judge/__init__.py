"""LLM-as-a-judge: the public API in one place (configs, runs, the LLM call) and verdict reads.

Split by concern so each part stays small: judge_config (versioned configs), judge_run (runs and how
verdicts are stored), judge_llm (prompt, parsing, one call with retries, provider readiness, cost).
Callers keep importing from here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from review_store.judge.config import (
    RESERVED_PARAMS,
    config_hash,
    create_judge_config,
    get_judge_config,
    label_of,
    list_judge_configs,
)
from review_store.judge.llm import (
    DEFAULT_TEMPLATE,
    PLACEHOLDERS,
    PROVIDER_KEYS,
    SYSTEM_PROMPT,
    allowed_values,
    check_template,
    parse_verdict,
    provider_ready,
    render_prompt,
)
from review_store.judge.run import MAX_ERRORS_IN_REPORT, JudgeRunReport, run_judge
from review_store.models import JudgeConfig, JudgeVerdict

__all__ = [
    "DEFAULT_TEMPLATE",
    "MAX_ERRORS_IN_REPORT",
    "PLACEHOLDERS",
    "PROVIDER_KEYS",
    "RESERVED_PARAMS",
    "SYSTEM_PROMPT",
    "JudgeRunReport",
    "allowed_values",
    "check_template",
    "config_hash",
    "create_judge_config",
    "get_judge_config",
    "label_of",
    "list_judge_configs",
    "parse_verdict",
    "provider_ready",
    "render_prompt",
    "run_judge",
    "verdicts_for_trace",
]


def verdicts_for_trace(session: Session, *, trace_id: int) -> list[dict[str, Any]]:
    """Every judge verdict on one trace (newest config versions first), as plain dicts for the pages."""
    query = (
        select(JudgeVerdict, JudgeConfig.name, JudgeConfig.version)
        .join(JudgeConfig, and_(col(JudgeConfig.id) == JudgeVerdict.judge_config_id))
        .where(JudgeVerdict.trace_id == trace_id)
        .order_by(col(JudgeConfig.name), col(JudgeConfig.version).desc(), col(JudgeVerdict.question_key))
    )
    return [
        {
            "config": f"{name}@{version}",
            "judge_config_id": v.judge_config_id,
            "question": v.question_key,
            "value": v.value,
            "score": v.score,
            "confidence": v.confidence,
            "rationale": v.rationale,
            "error": v.error,
            "cost_usd": v.cost_usd,
            "latency_ms": v.latency_ms,
            "created_at": v.created_at,
        }
        for v, name, version in session.exec(query).all()
    ]
