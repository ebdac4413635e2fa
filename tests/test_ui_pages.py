"""AppTest: Agreement tiles keep short labels with the full names in help; Maturity evidence reads as
sentences (no Python dicts, dollars not LaTeX); release tables show human headers and dates; the demo's
golden examples carry real corrected answers (no "(corrected)" prefix)."""

from __future__ import annotations

import json

from review_store.desk import Desk
from tests.apptest import open_app, page


def _open(monkeypatch, url, user, name):
    at = open_app(monkeypatch, url, user)
    at.run()
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def test_agreement_tiles_have_short_labels_and_full_names_in_help(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "lena", "agreement")
    labels = [m.label for m in at.metric]
    assert labels == [
        "Verdict",
        "Release evidence",
        "Reference alpha",
        "Items",
        "Alpha",
        "Kappa",
        "Exact",
        "Within ±1",
        "Human ceiling",
    ]
    assert all(len(label) <= 16 for label in labels)  # fits a fifth of the page without an ellipsis
    helps = {m.label: m.proto.help for m in at.metric}
    assert "Krippendorff's alpha" in helps["Alpha"] and "Cohen's kappa" in helps["Kappa"]
    assert helps["Human ceiling"].startswith("Human-human alpha")
    exact = next(m for m in at.metric if m.label == "Exact").value
    assert exact.endswith("%") and float(exact[:-1]) > 0


def test_maturity_evidence_reads_as_sentences(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "lena", "maturity")
    lines = [m.value for m in at.markdown if m.value.startswith(":material/")]
    report = Desk.open(demo_db_url).dashboards.maturity()
    assert len(lines) == len(report.criteria)
    budget = next(line for line in lines if "Cost budget" in line or "budget" in line.lower())
    assert "{" not in budget and "'period'" not in budget
    assert "\\$40.00 per month set by lena." in budget  # escaped: dollars, not LaTeX
    assert all(line.rstrip().endswith(".") or line.rstrip().endswith("?") for line in lines)
    unmet = next(c for c in report.criteria if not c.met)
    assert any(":material/radio_button_unchecked:" in line and "To do: " in line for line in lines)
    assert any(unmet.label in line for line in lines)
    assert [m.value for m in at.markdown if m.value.startswith("**Level ")][0].startswith("**Level 1")


def test_release_tables_show_human_headers_and_dates(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "oscar", "releases")
    listing = next(d for d in at.dataframe if "author" in d.value.columns)
    columns = json.loads(listing.proto.columns)
    assert columns["created_at"]["label"] == "Created at"
    assert columns["created_at"]["type_config"]["format"] in ("YYYY-MM-DD", "YYYY-MM-DD HH:mm")
    assert columns["manifest_hash"]["label"] == "Manifest hash"


def test_demo_golden_examples_have_real_corrected_answers(demo_db_url):
    examples = Desk.open(demo_db_url).golden.list().examples
    assert examples
    assert not [e for e in examples if "(corrected)" in e.expected_output]
    corrected = [e for e in examples if e.expected_output.endswith("]") and "[policy-" in e.expected_output]
    assert corrected  # wrong answers are replaced by the cited policy, with its citation


def test_audit_table_has_human_headers_and_minutes_not_seconds(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "lena", "audit")
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["ts"]["label"] == "Time"
    assert columns["ts"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    assert columns["entity_id"]["label"] == "Entity ID"
