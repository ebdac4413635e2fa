"""Judge configs: versioned data with a content hash (model, prompt template, rubric version, params,
api_base). Editing a config creates the next version, so every verdict names exactly what produced it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from review_store import rubrics as rubric_store
from review_store import versioning
from review_store.errors import NotFound, ValidationFailed
from review_store.hashing import canonical_json, content_hash
from review_store.judge.llm import DEFAULT_TEMPLATE, check_template
from review_store.models import JudgeConfig, JudgeVerdict, Rubric
from review_store.permissions import Actor, require

# Set by the run itself, so a config may not carry them (and never a secret).
RESERVED_PARAMS = frozenset(
    {
        "model",
        "messages",
        "api_key",
        "api_base",
        "base_url",
        "timeout",
        "mock_response",
        "max_retries",
        "num_retries",
        "response_format",
        "stream",
    }
)


def config_hash(
    *, model: str, prompt_template: str, rubric_id: int, params: dict[str, Any], api_base: str | None
) -> str:
    body = {
        "model": model,
        "prompt_template": prompt_template,
        "rubric_id": rubric_id,
        "params": params,
        "api_base": api_base,
    }
    return content_hash(body)


def create_judge_config(
    session: Session,
    *,
    actor: Actor,
    name: str,
    model: str,
    prompt_template: str = DEFAULT_TEMPLATE,
    rubric_id: int,
    params: dict[str, Any] | None = None,
    api_base: str | None = None,
) -> JudgeConfig:
    """Save the next version of judge `name`; unchanged content returns the latest version as it is."""
    require(actor, "edit_judges")
    name, model = name.strip(), model.strip()
    if not name or "@" in name:
        raise ValidationFailed("judge name: must not be empty or contain '@'")
    if not model:
        raise ValidationFailed(
            "judge model: must not be empty (a litellm model string, e.g. openai/gpt-4o-mini)"
        )
    check_template(prompt_template)
    rubric_store.spec_of(rubric_store.get(session, rubric_id))  # exists and parses
    params = dict(params or {})
    reserved = sorted(RESERVED_PARAMS & set(params))
    if reserved:
        raise ValidationFailed(f"judge params: {', '.join(reserved)} may not be set in a config")
    try:
        canonical_json(params)
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"judge params: not JSON ({exc})") from None
    api_base = (api_base or "").strip() or None
    body = {
        "model": model,
        "prompt_template": prompt_template,
        "rubric_id": rubric_id,
        "params": params,
        "api_base": api_base,
    }
    return versioning.save_version(
        session,
        actor=actor,
        model=JudgeConfig,
        scope={"name": name},
        content=body,
        values={k: v for k, v in body.items()},
        entity="judge_config",
        entity_id=label_of,
        payload={"model": model, "rubric_id": rubric_id, "api_base": api_base},
    )


def _latest(session: Session, name: str) -> JudgeConfig | None:
    query = select(JudgeConfig).where(JudgeConfig.name == name).order_by(col(JudgeConfig.version).desc())
    return session.exec(query.limit(1)).first()


def label_of(config: JudgeConfig) -> str:
    return f"{config.name}@{config.version}"


def get_judge_config(session: Session, name: str, version: int | None = None) -> JudgeConfig:
    """A config by name (latest version) or by "name@3" / an explicit version; NotFound otherwise."""
    if version is None and "@" in name:
        name, _, raw = name.rpartition("@")
        try:
            version = int(raw)
        except ValueError:
            raise ValidationFailed(f"judge config {name}@{raw}: version must be a whole number") from None
    if version is None:
        config = _latest(session, name)
    else:
        query = select(JudgeConfig).where(JudgeConfig.name == name, JudgeConfig.version == version)
        config = session.exec(query).first()
    if config is None:
        raise NotFound(f"no judge config {name}" + (f"@{version}" if version is not None else ""))
    return config


# SQLite's planner would read every verdict row for these; both counts are index walks instead (ok
# counts from the narrowest partial index, (config, cost): ~170 -> ~140 ms at 3M verdicts).
_SQLITE_OK_COUNTS = text(
    "SELECT judge_config_id, count(*) FROM judgeverdict INDEXED BY ix_judgeverdict_ok_cost "
    "WHERE error IS NULL GROUP BY judge_config_id"
)
_SQLITE_ALL_COUNTS = text(
    "SELECT judge_config_id, count(*) FROM judgeverdict INDEXED BY ix_judgeverdict_config_question "
    "GROUP BY judge_config_id"
)


def verdict_counts(session: Session) -> dict[int, tuple[int, int]]:
    """config id -> (successful verdicts, failed verdicts), from two index-only counts (no outer join
    over every verdict): ok from the partial index on error IS NULL, errors = all - ok."""
    if session.get_bind().dialect.name == "sqlite":
        conn = session.connection()
        ok = dict(conn.execute(_SQLITE_OK_COUNTS).tuples().all())
        total = dict(conn.execute(_SQLITE_ALL_COUNTS).tuples().all())
    else:
        config = col(JudgeVerdict.judge_config_id)
        counted = select(config, func.count()).group_by(config)
        ok = dict(session.exec(counted.where(col(JudgeVerdict.error).is_(None))).all())
        total = dict(session.exec(counted).all())
    return {c: (int(ok.get(c, 0)), int(n - ok.get(c, 0))) for c, n in total.items()}


def list_judge_configs(session: Session) -> list[dict[str, Any]]:
    """Every config version with its rubric and verdict counts (ok / error), for the CLI and Settings."""
    query = (
        select(JudgeConfig, Rubric.name, Rubric.version)
        .join(Rubric, col(Rubric.id) == JudgeConfig.rubric_id)
        .order_by(col(JudgeConfig.name), col(JudgeConfig.version))
    )
    counts = verdict_counts(session)
    return [
        {
            "config": label_of(c),
            "id": c.id,
            "model": c.model,
            "api_base": c.api_base,
            "params": c.params,
            "rubric": f"{rname}@{rversion}",
            "verdicts_ok": counts.get(c.id, (0, 0))[0],
            "verdicts_error": counts.get(c.id, (0, 0))[1],
            "created_by": c.created_by,
            "created_at": c.created_at,
        }
        for c, rname, rversion in session.exec(query).all()
    ]
