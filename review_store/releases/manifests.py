"""Release manifests as data: parse (YAML/JSON), validate, hash, and diff per component.

A manifest pins everything that decides how the assistant behaves, so "roll back" can mean "serve exactly
this manifest again" and a diff shows what a release really changes. Sections:

    prompts:    {name: text, ...; optional "version": label}  -- each text is hashed
    models:     {role: "provider/model-id", ...}                -- unpinned aliases are warned about
    retrieval:  {embedding_model, chunk_size, top_k, reranker}
    tools:      [{name, description, ...}, ...]
    guardrails: {input: [...], output: [...]} (or a list)
    checks:     [{kind, name?, ...}, ...]  -- optional tier-1 checks (review_store.evals.checks); kept
                                              (and hashed) only when present, so older hashes hold

An optional top-level `name:` names the release the manifest describes. It is metadata, not part of the
system, so it is not hashed (the same system under two names has one hash); `read_manifest` returns it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from review_store.errors import ValidationFailed
from review_store.evals.checks import validate_checks
from review_store.hashing import content_hash

SECTIONS = ("prompts", "models", "retrieval", "tools", "guardrails")
OPTIONAL = ("checks",)  # in the manifest (and its hash and diff) only when declared
METADATA = ("name",)
REQUIRED = ("prompts", "models")
RETRIEVAL_INT_FIELDS = ("chunk_size", "top_k")
# A model id is pinned when it ends in a date or an explicit version: -2024-07-18, -20241022, -0613,
# @20240229, -001, -v2:0. Bare names such as `gpt-4o`, `claude-3-5-sonnet` or `*-latest` float.
_PINNED = re.compile(r"(\d{4}-\d{2}-\d{2}|\d{8}|-\d{3,4}|-v\d+(:\d+)?|:\d+)$")


def parse_manifest(text: str, *, source: str = "manifest") -> dict[str, Any]:
    """YAML or JSON text -> a validated manifest dict; ValidationFailed names the file, line and field."""
    return read_manifest(text, source=source)[1]


def read_manifest(text: str, *, source: str = "manifest") -> tuple[str | None, dict[str, Any]]:
    """YAML or JSON text -> (the manifest's own `name`, or None; the validated manifest)."""
    try:
        data = yaml.safe_load(text)  # JSON is YAML, so one parser serves both
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ValidationFailed(f"{where}: not valid YAML/JSON ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict):
        raise ValidationFailed(f"{source}: a manifest is a mapping with sections {', '.join(SECTIONS)}")
    return manifest_name(data, source=source), validate_manifest(data, source=source)


def manifest_name(data: dict[str, Any], *, source: str = "manifest") -> str | None:
    """The manifest's optional `name` (a non-empty string when present)."""
    name = data.get("name")
    if name is None:
        return None
    if not isinstance(name, str | int) or isinstance(name, bool) or not str(name).strip():
        raise ValidationFailed(f"{source}: field 'name' must be a non-empty string, got {name!r}")
    return str(name).strip()


def validate_manifest(data: dict[str, Any], *, source: str = "manifest") -> dict[str, Any]:
    """Check the shape of each section; returns a normalised copy (missing optional sections filled,
    the `name` metadata left out)."""
    unknown = sorted(set(data) - set(SECTIONS) - set(OPTIONAL) - set(METADATA))
    if unknown:
        known = ", ".join(SECTIONS + OPTIONAL + METADATA)
        raise ValidationFailed(f"{source}: unknown section(s) {', '.join(unknown)}; known: {known}")
    manifest_name(data, source=source)
    for key in REQUIRED:
        if not data.get(key):
            raise ValidationFailed(f"{source}: field '{key}' is required and must not be empty")
    prompts = data["prompts"]
    if not isinstance(prompts, dict) or not all(isinstance(v, str) for v in prompts.values()):
        raise ValidationFailed(f"{source}: field 'prompts' must map prompt names to text")
    models = data["models"]
    if not isinstance(models, dict) or not all(isinstance(v, str) and v for v in models.values()):
        raise ValidationFailed(f"{source}: field 'models' must map roles to model ids")
    retrieval = data.get("retrieval") or {}
    if not isinstance(retrieval, dict):
        raise ValidationFailed(f"{source}: field 'retrieval' must be a mapping")
    for key in RETRIEVAL_INT_FIELDS:
        value = retrieval.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ValidationFailed(
                f"{source}: field 'retrieval.{key}' must be a positive integer, got {value!r}"
            )
    tools = data.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, dict) and t.get("name") for t in tools):
        raise ValidationFailed(f"{source}: field 'tools' must be a list of objects with a 'name'")
    guardrails = data.get("guardrails") or {}
    if not isinstance(guardrails, dict | list):
        raise ValidationFailed(f"{source}: field 'guardrails' must be a mapping or a list")
    clean = {
        "prompts": dict(prompts),
        "models": dict(models),
        "retrieval": dict(retrieval),
        "tools": list(tools),
        "guardrails": guardrails,
    }
    if data.get("checks") is not None:
        clean["checks"] = validate_checks(data["checks"], source=source)
    return clean


def manifest_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the canonical JSON: equal hashes mean the exact same system."""
    return content_hash(manifest)


def prompt_hashes(manifest: dict[str, Any]) -> dict[str, str]:
    """sha256 of each prompt text (the optional "version" label is not a prompt)."""
    prompts = manifest.get("prompts") or {}
    return {
        name: hashlib.sha256(text.encode("utf-8")).hexdigest()
        for name, text in sorted(prompts.items())
        if name != "version" and isinstance(text, str)
    }


def is_pinned(model_id: str) -> bool:
    name = model_id.rsplit("/", 1)[-1]
    return not name.endswith("latest") and bool(_PINNED.search(name))


def model_warnings(manifest: dict[str, Any]) -> list[str]:
    """A warning per model id that is an alias (it can change under you without a new release)."""
    return [
        f"models.{role}: '{model}' is not pinned (no date or version suffix); the provider may change it "
        "under this release"
        for role, model in sorted((manifest.get("models") or {}).items())
        if not is_pinned(model)
    ]


@dataclass
class ComponentDiff:
    component: str
    changed: bool
    summary: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    text_diff: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "changed": self.changed,
            "summary": self.summary,
            "changes": self.changes,
            "text_diff": self.text_diff,
        }


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flat(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        return {f"{prefix}[{v['name']}]": json.dumps(v, sort_keys=True) for v in value}
    return {prefix: value}


def _changes(old: Any, new: Any) -> list[dict[str, Any]]:
    a, b = _flat(old or {}), _flat(new or {})
    return [
        {"field": key, "from": a.get(key), "to": b.get(key)}
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]


def prompt_text_diff(old: dict[str, Any], new: dict[str, Any], *, a_name: str, b_name: str) -> str:
    """A unified diff per prompt, wrapped at sentence ends so a one-word edit reads as one line."""
    parts = []
    for name in sorted(set(old) | set(new)):
        a, b = str(old.get(name) or ""), str(new.get(name) or "")
        if a == b:
            continue
        split = lambda s: [line + "\n" for line in re.split(r"(?<=[.!?])\s+|\n", s) if line]  # noqa: E731
        parts.append(
            "".join(
                difflib.unified_diff(
                    split(a), split(b), fromfile=f"{a_name}/prompts/{name}", tofile=f"{b_name}/prompts/{name}"
                )
            )
        )
    return "".join(parts)


def diff_manifests(
    old: dict[str, Any], new: dict[str, Any], *, a_name: str = "a", b_name: str = "b"
) -> list[ComponentDiff]:
    """One entry per section, in manifest order; prompts also get a readable unified text diff."""
    out = []
    declared = tuple(s for s in OPTIONAL if s in old or s in new)
    for section in SECTIONS + declared:
        changes = _changes(old.get(section), new.get(section))
        text = ""
        if section == "prompts" and changes:
            text = prompt_text_diff(
                old.get("prompts") or {}, new.get("prompts") or {}, a_name=a_name, b_name=b_name
            )
        summary = "unchanged" if not changes else ", ".join(c["field"] for c in changes[:6])
        if len(changes) > 6:
            summary += f" and {len(changes) - 6} more"
        out.append(ComponentDiff(section, bool(changes), summary, changes, text))
    return out
