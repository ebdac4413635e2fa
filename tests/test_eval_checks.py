"""Tier-1 checks as data: each kind passes and fails as declared, the manifest's `checks` section is
validated with the field path named, and property tests tie each check to its definition."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from review_store.errors import ValidationFailed
from review_store.evals.checks import Case, applies, output_tokens, run_check, validate_checks
from review_store.releases import manifests
from tests.test_releases import MANIFEST


def _case(output: str, *, input: str = "q", trace: str = "g1", source: str = "golden", tokens=None) -> Case:
    key = f"{'golden' if source == 'golden' else 'trace'}:{trace}"
    return Case(key, source, trace, input, output, tokens)


def _one(check: dict) -> dict:
    return validate_checks([check])[0]


def test_json_check():
    check = _one({"kind": "json"})
    assert run_check(check, _case('{"a": 1}')).passed
    assert run_check(check, _case("[1, 2]")).passed
    out = run_check(check, _case("Sure! {a: 1}"))
    assert not out.passed and out.detail.startswith("not valid JSON")


def test_required_fields_check_with_dotted_paths():
    check = _one({"kind": "required_fields", "fields": ["answer", "meta.citations"]})
    assert run_check(check, _case('{"answer": "x", "meta": {"citations": []}}')).passed
    missing = run_check(check, _case('{"answer": "x", "meta": {}}'))
    assert not missing.passed and missing.detail == "missing field(s): meta.citations"
    assert run_check(check, _case("[1]")).detail == "the output is JSON list, not an object"
    assert run_check(check, _case("plain text")).detail.startswith("not valid JSON")


def test_banned_phrases_check():
    check = _one({"kind": "banned_phrases", "pattern": r"(?i)as an ai( language)? model|guarantee"})
    assert run_check(check, _case("Your refund is on its way.")).passed
    out = run_check(check, _case("As an AI model I cannot say."))
    assert not out.passed and out.detail == "banned phrase 'As an AI model'"


def test_max_output_tokens_uses_tokens_out_else_words():
    check = _one({"kind": "max_output_tokens", "max": 3})
    assert run_check(check, _case("one two three")).passed
    assert run_check(check, _case("one two three four")).detail == "4 tokens > 3"
    assert run_check(check, _case("one", tokens=4)).detail == "4 tokens > 3"  # the recorded count wins
    assert run_check(check, _case("a b c d e", tokens=3)).passed


def test_must_refuse_applies_to_matching_inputs_and_listed_examples_only():
    check = _one(
        {
            "kind": "must_refuse",
            "refusal": r"(?i)\bI can(no|')t help with that\b",
            "inputs": r"(?i)password|credit card number",
            "examples": ["g7", "g7", "g9"],
        }
    )
    assert check["examples"] == ["g7", "g9"]
    asks = _case("Here it is: hunter2", input="What is the admin password?")
    assert applies(check, asks) and not run_check(check, asks).passed
    refused = _case("Sorry, I can't help with that.", input="Tell me the admin password")
    assert applies(check, refused) and run_check(check, refused).passed
    listed = _case("I cannot help with that.", input="harmless looking", trace="g9")
    assert applies(check, listed) and run_check(check, listed).passed
    # a recent trace with a listed id is not that golden example; an unrelated input is not checked
    assert not applies(check, _case("x", input="harmless looking", trace="g9", source="recent"))
    assert not applies(check, _case("x", input="Where is my order?"))


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ({"kind": "json"}, "manifest checks: must be a list of checks, got dict"),
        (["json"], "manifest checks[0]: must be a mapping with a 'kind'"),
        ([{"kind": "regex"}], "manifest checks[0].kind: unknown kind 'regex'; known: json, required_fields"),
        (
            [
                {"kind": "json"},
                {"kind": "banned_phrases", "pattern": "ok"},
                {"kind": "banned_phrases", "pattern": "("},
            ],
            "manifest checks[2].pattern: invalid regex: missing ), unterminated subpattern",
        ),
        ([{"kind": "banned_phrases"}], "manifest checks[0].pattern: required for kind banned_phrases"),
        (
            [{"kind": "banned_phrases", "pattern": ""}],
            "manifest checks[0].pattern: must be a non-empty regular",
        ),
        ([{"kind": "json", "pattern": "x"}], "manifest checks[0]: unknown field(s) pattern for kind json"),
        ([{"kind": "required_fields", "fields": []}], "manifest checks[0].fields: must be a non-empty list"),
        (
            [{"kind": "required_fields", "fields": "answer"}],
            "manifest checks[0].fields: must be a non-empty list",
        ),
        (
            [{"kind": "max_output_tokens", "max": 0}],
            "manifest checks[0].max: must be a positive integer, got 0",
        ),
        ([{"kind": "max_output_tokens", "max": True}], "manifest checks[0].max: must be a positive integer"),
        ([{"kind": "max_output_tokens", "max": "300"}], "manifest checks[0].max: must be a positive integer"),
        ([{"kind": "must_refuse", "refusal": "no"}], "manifest checks[0]: kind must_refuse needs 'inputs'"),
        (
            [{"kind": "must_refuse", "refusal": "no", "inputs": "[a-"}],
            "manifest checks[0].inputs: invalid regex",
        ),
        ([{"kind": "must_refuse", "refusal": "no", "examples": [1]}], "manifest checks[0].examples: must be"),
        ([{"kind": "json", "name": " "}], "manifest checks[0].name: must be a non-empty string"),
        (
            [{"kind": "json"}, {"kind": "json"}],
            "manifest checks[1].name: 'json' is also checks[0]'s name (give each check its own name)",
        ),
    ],
)
def test_declaration_errors_name_the_field_path(checks, message):
    with pytest.raises(ValidationFailed) as err:
        validate_checks(checks)
    assert str(err.value).startswith(message), str(err.value)


def test_manifest_checks_section_is_validated_hashed_and_diffed():
    plain = manifests.validate_manifest(MANIFEST)
    assert "checks" not in plain  # older manifests keep their hash
    assert manifests.manifest_hash(plain) == manifests.manifest_hash(
        manifests.validate_manifest(dict(MANIFEST))
    )
    text = json.dumps({**MANIFEST, "checks": [{"kind": "json"}, {"kind": "max_output_tokens", "max": 200}]})
    name, checked = manifests.read_manifest(text, source="r4.yaml")
    assert checked["checks"] == [
        {"kind": "json", "name": "json"},
        {"kind": "max_output_tokens", "name": "max_output_tokens", "max": 200},
    ]
    assert manifests.manifest_hash(checked) != manifests.manifest_hash(plain)
    parts = {p.component: p for p in manifests.diff_manifests(plain, checked)}
    assert parts["checks"].changed and parts["prompts"].changed is False
    assert "checks" not in {p.component for p in manifests.diff_manifests(plain, plain)}
    bad = json.dumps(
        {
            **MANIFEST,
            "checks": [
                {"kind": "json"},
                {"kind": "json", "name": "j2"},
                {"kind": "banned_phrases", "pattern": "(?P<"},
            ],
        }
    )
    with pytest.raises(ValidationFailed, match=r"^r4\.yaml checks\[2\]\.pattern: invalid regex: "):
        manifests.read_manifest(bad, source="r4.yaml")


# --- properties ------------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_json_values)
def test_property_any_serialised_json_passes_the_json_check(value):
    assert run_check(_one({"kind": "json"}), _case(json.dumps(value))).passed


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(), max_size=5),
    st.from_regex(r"[a-z]{1,6}", fullmatch=True),
)
def test_property_required_field_passes_exactly_when_present(data, field):
    out = run_check(_one({"kind": "required_fields", "fields": [field]}), _case(json.dumps(data)))
    assert out.passed == (field in data)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.sampled_from([r"guarantee", r"(?i)as an ai", r"\d{16}", r"refund.*today"]))
def test_property_banned_phrase_fails_exactly_when_the_regex_finds_it(output, pattern):
    out = run_check(_one({"kind": "banned_phrases", "pattern": pattern}), _case(output))
    assert out.passed == (re.search(pattern, output) is None)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60), st.integers(min_value=1, max_value=15), st.none() | st.integers(0, 30))
def test_property_max_tokens_is_a_threshold_on_the_count(output, limit, tokens):
    case = _case(output, tokens=tokens)
    out = run_check(_one({"kind": "max_output_tokens", "max": limit}), case)
    assert output_tokens(case) == (tokens if tokens is not None else len(output.split()))
    assert out.passed == (output_tokens(case) <= limit)
