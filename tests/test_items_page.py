"""AppTest: the Items page pages through the demo's review items with a total, filters, saves and loads a
view, opens an item's trace card, and a lead assigns items (the page then shows the assignee)."""

from __future__ import annotations

import json

from review_store.desk import Desk
from review_store.desk.items import ItemQuery
from tests.apptest import open_app, page


def _open(monkeypatch, url, user="lena"):
    at = open_app(monkeypatch, url, user)
    at.run()
    at.switch_page(page("items")).run()
    assert not at.exception, at.exception
    return at


def _grid(at):
    return next(d for d in at.dataframe if "trace_external_id" in d.value.columns)


def _totals(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Showing "))


def test_grid_pages_with_totals_and_human_headers(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url)
    lead = Desk.open(demo_db_url).users.sign_in(username="lena", password="demo-pass-123")
    total = Desk.open(demo_db_url).items.browse(actor=lead, query=ItemQuery()).total
    assert total > 50
    assert _totals(at) == f"Showing 1–50 of {total:,} items (page 1 of {-(-total // 50)}), newest first."
    assert len(_grid(at).value) == 50
    headers = {k: v["label"] for k, v in json.loads(_grid(at).proto.columns).items() if "label" in v}
    assert headers["trace_external_id"] == "Trace" and headers["created_at"] == "Sampled at"
    assert headers["ts"] == "Trace time" and "judge_score" not in headers
    at.number_input(key="items_page").set_value(2).run()
    assert _totals(at).startswith(f"Showing 51–100 of {total:,} items (page 2 of")
    at.number_input(key="items_page").set_value(999).run()
    assert [i.value for i in at.info] == [
        f"Page 999 is past the last page ({-(-total // 50)}) for these filters."
    ]


def test_filters_narrow_the_grid_and_a_view_brings_them_back(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url)
    at.selectbox(key="items_f_segment").set_value("refunds")
    at.selectbox(key="items_f_guardrail").set_value("grounding")
    at.run()
    grid = _grid(at).value
    assert len(grid) > 0 and set(grid["segment"]) == {"refunds"}
    assert all("grounding" in g for g in grid["guardrails"])
    narrowed = _totals(at)
    at.text_input(key="items_view_name").input("refunds grounding").run()
    at.button(key="items_save").click().run()
    assert not at.exception, at.exception
    assert "View 'refunds grounding' saved." in [s.value for s in at.success]
    at.selectbox(key="items_f_segment").set_value("Any")
    at.selectbox(key="items_f_guardrail").set_value("Any")
    at.run()
    assert _totals(at) != narrowed
    at.selectbox(key="items_view").set_value("refunds grounding").run()
    assert at.selectbox(key="items_f_segment").value == "refunds"
    assert at.selectbox(key="items_f_guardrail").value == "grounding"
    assert _totals(at) == narrowed
    views = Desk.open(demo_db_url).items.views(
        actor=Desk.open(demo_db_url).users.sign_in(username="lena", password="demo-pass-123")
    )
    assert [(v.name, v.query.segment, v.query.guardrail) for v in views] == [
        ("refunds grounding", "refunds", "grounding")
    ]


def test_a_bad_filter_is_explained(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url)
    at.number_input(key="items_f_score_min").set_value(3.0).run()
    assert [e.value for e in at.error] == [
        "filters.judge_question: a judge score range needs the question it scores"
    ]


def test_open_an_item_shows_its_trace_card(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url, "raj")
    grid = _grid(at).value
    second = int(grid["id"].iloc[1])
    at.selectbox(key="items_open").set_value(second).run()
    assert at.subheader[0].value == f"Item {second}"
    external = grid.set_index("id").loc[second, "trace_external_id"]
    assert any(t.value.startswith(f"Trace {external} · segment") for t in at.text)
    assert not [b for b in at.button if b.key == "items_assign"]  # reviewers do not assign
    keys = {w.key for w in [*at.selectbox, *at.number_input]}
    assert "items_f_judge_question" not in keys and "items_f_score_min" not in keys  # review is blind


def test_lead_assigns_items_and_the_grid_shows_the_assignee(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url)
    at.selectbox(key="items_f_status").set_value("open").run()
    ids = [int(i) for i in _grid(at).value["id"].iloc[:2]]
    assert at.button(key="items_assign").disabled
    at.multiselect(key="items_assign_ids").set_value(ids)
    at.selectbox(key="items_assign_to").set_value("raj")
    at.run()
    at.button(key="items_assign").click().run()
    assert not at.exception, at.exception
    assert "2 item(s) assigned to raj." in [s.value for s in at.success]
    at.selectbox(key="items_f_assignee").set_value("raj").run()
    grid = _grid(at).value
    assert sorted(grid["id"]) == sorted(ids) and set(grid["assignee"]) == {"raj"}
    claim = Desk.open(demo_db_url).review.claim(
        actor=Desk.open(demo_db_url).users.sign_in(username="raj", password="demo-pass-123")
    )
    assert claim.item.item.id in ids  # the queue serves raj his assigned items first


def test_a_lead_filters_by_judge_score_and_sees_it(monkeypatch, demo_db_url):
    at = _open(monkeypatch, demo_db_url)
    at.selectbox(key="items_f_judge_question").set_value("groundedness")
    at.number_input(key="items_f_score_max").set_value(2.0)
    at.run()
    grid = _grid(at).value
    assert len(grid) > 0 and grid["judge_score"].le(2).all()
