"""Tier-1 evals: deterministic checks declared as data in a release manifest (pure functions, no database).

A manifest's optional `checks:` section is a list; each entry has a `kind`, an optional `name` (default: the
kind; names are unique) and the kind's fields:

    json               the output parses as JSON
    required_fields    fields: [a, b.c]      the output is a JSON object holding each (dotted) field
    banned_phrases     pattern: REGEX        the output does not match (re.search; `(?i)` for any case)
    max_output_tokens  max: N                the output's tokens <= N (the trace's tokens_out when known,
                                              else its whitespace-separated words)
    must_refuse        refusal: REGEX, inputs: REGEX?, examples: [golden trace id, ...]?
                       applies to cases whose input matches `inputs` or whose golden example is listed;
                       the output must match `refusal` (at least one of inputs/examples is required)

Every other check applies to every case. `validate_checks` names the field path of any error
(`manifest checks[2].pattern: invalid regex: ...`); `run_check` answers one check on one case.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from review_store.errors import ValidationFailed

KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # kind -> (required fields, optional fields)
    "json": ((), ()),
    "required_fields": (("fields",), ()),
    "banned_phrases": (("pattern",), ()),
    "max_output_tokens": (("max",), ()),
    "must_refuse": (("refusal",), ("inputs", "examples")),
}


@dataclass(frozen=True)
class Case:
    """One output to check: a golden example's output of the release, or one of its recent traces."""

    key: str  # "golden:<trace id>" or "trace:<trace id>"
    source: str  # golden | recent
    trace: str  # the golden example's trace id, or the checked trace's id
    input: str
    output: str
    tokens_out: int | None = None


@dataclass(frozen=True)
class Outcome:
    passed: bool
    detail: str = ""


def _regex(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"{where}: must be a non-empty regular expression, got {value!r}")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationFailed(f"{where}: invalid regex: {exc}") from None
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationFailed(f"{where}: must be a non-empty list of non-empty strings, got {value!r}")
    return [v.strip() for v in value]


def _check(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValidationFailed(f"{where}: must be a mapping with a 'kind', got {entry!r}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise ValidationFailed(f"{where}.kind: unknown kind {kind!r}; known: {', '.join(KINDS)}")
    required, optional = KINDS[kind]
    unknown = sorted(set(entry) - {"kind", "name", *required, *optional})
    if unknown:
        raise ValidationFailed(f"{where}: unknown field(s) {', '.join(map(str, unknown))} for kind {kind}")
    for key in required:
        if entry.get(key) is None:
            raise ValidationFailed(f"{where}.{key}: required for kind {kind}")
    name = entry.get("name", kind)
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(f"{where}.name: must be a non-empty string, got {name!r}")
    clean: dict[str, Any] = {"kind": kind, "name": name.strip()}
    if kind == "required_fields":
        clean["fields"] = _strings(entry["fields"], f"{where}.fields")
    elif kind == "banned_phrases":
        clean["pattern"] = _regex(entry["pattern"], f"{where}.pattern")
    elif kind == "max_output_tokens":
        limit = entry["max"]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ValidationFailed(f"{where}.max: must be a positive integer, got {limit!r}")
        clean["max"] = limit
    elif kind == "must_refuse":
        clean["refusal"] = _regex(entry["refusal"], f"{where}.refusal")
        if entry.get("inputs") is None and entry.get("examples") is None:
            raise ValidationFailed(f"{where}: kind must_refuse needs 'inputs' (a regex) or 'examples' (ids)")
        if entry.get("inputs") is not None:
            clean["inputs"] = _regex(entry["inputs"], f"{where}.inputs")
        if entry.get("examples") is not None:
            clean["examples"] = sorted(set(_strings(entry["examples"], f"{where}.examples")))
    return clean


def validate_checks(value: Any, *, source: str = "manifest") -> list[dict[str, Any]]:
    """The manifest's `checks` section -> a normalised list; ValidationFailed names the field path."""
    if not isinstance(value, list):
        raise ValidationFailed(f"{source} checks: must be a list of checks, got {type(value).__name__}")
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(value):
        clean = _check(entry, f"{source} checks[{i}]")
        if clean["name"] in seen:
            raise ValidationFailed(
                f"{source} checks[{i}].name: {clean['name']!r} is also checks[{seen[clean['name']]}]'s "
                "name (give each check its own name)"
            )
        seen[clean["name"]] = i
        out.append(clean)
    return out


# --- answering a check on a case ---------------------------------------------------------------------


def output_tokens(case: Case) -> int:
    """The trace's recorded tokens_out, else the output's whitespace-separated words."""
    return case.tokens_out if case.tokens_out is not None else len(case.output.split())


def applies(check: dict[str, Any], case: Case) -> bool:
    """must_refuse applies to the matching inputs and the listed examples; every other kind to all."""
    if check["kind"] != "must_refuse":
        return True
    if case.source == "golden" and case.trace in check.get("examples", ()):
        return True
    pattern = check.get("inputs")
    return pattern is not None and re.search(pattern, case.input) is not None


def _parsed(output: str) -> tuple[bool, Any, str]:
    try:
        return True, json.loads(output), ""
    except (json.JSONDecodeError, RecursionError) as exc:
        return False, None, f"not valid JSON: {getattr(exc, 'msg', exc)}"


def _missing(data: Any, fields: list[str]) -> list[str]:
    missing = []
    for path in fields:
        node = data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                missing.append(path)
                break
            node = node[part]
    return missing


def run_check(check: dict[str, Any], case: Case) -> Outcome:
    """One check on one case (call `applies` first); the detail says why a case failed."""
    kind = check["kind"]
    if kind == "json":
        ok, _, why = _parsed(case.output)
        return Outcome(ok, why)
    if kind == "required_fields":
        ok, data, why = _parsed(case.output)
        if not ok:
            return Outcome(False, why)
        if not isinstance(data, dict):
            return Outcome(False, f"the output is JSON {type(data).__name__}, not an object")
        missing = _missing(data, check["fields"])
        return Outcome(not missing, f"missing field(s): {', '.join(missing)}" if missing else "")
    if kind == "banned_phrases":
        found = re.search(check["pattern"], case.output)
        return Outcome(found is None, f"banned phrase {found.group(0)!r}" if found else "")
    if kind == "max_output_tokens":
        tokens = output_tokens(case)
        over = tokens > check["max"]
        return Outcome(not over, f"{tokens} tokens > {check['max']}" if over else "")
    if kind == "must_refuse":
        refused = re.search(check["refusal"], case.output) is not None
        return Outcome(refused, "" if refused else "not a refusal (the refusal pattern does not match)")
    raise ValidationFailed(f"unknown check kind {kind!r}")
