"""Items: browse every review item and its trace, filtered and paged with totals; saved views per user;
open any item's trace card; leads assign items to a reviewer (the queue serves them to that reviewer)."""

import pandas as pd
import streamlit as st

from app import formatting, session, trace_card
from app.filters import apply_item_query, item_filter_bar
from review_store.desk import ReviewStoreError

actor = session.require_actor()
desk = session.desk()
st.title("Items")
FLASH = "items_flash"

views = {v.name: v for v in desk.items.views(actor=actor)}


def _load_view() -> None:
    name = st.session_state.get("items_view")
    if name in views:
        apply_item_query(views[name].query)
        st.session_state["items_page"] = 1


st.selectbox("Saved view", [None, *views], key="items_view", on_change=_load_view,
             format_func=lambda n: "(none)" if n is None else n)  # fmt: skip
query = item_filter_bar(desk.items.options(), judge_scores=actor.can("browse_judge_scores"))
c1, c2 = st.columns([1, 3])
size = c1.selectbox("Rows per page", [25, 50, 100], index=1, key="items_size")
page_no = c2.number_input("Page", min_value=1, step=1, key="items_page")
try:
    page = desk.items.browse(actor=actor, query=query, offset=(int(page_no) - 1) * size, limit=size)
except ReviewStoreError as exc:  # a filter the store refuses (score range without a question, ...)
    st.error(str(exc))
    st.stop()
first = page.offset + 1 if page.items else 0
st.caption(
    f"Showing {first}–{page.offset + len(page.items)} of {page.total:,} items (page {int(page_no)} of "
    f"{page.pages}), newest first."
)
rows = pd.DataFrame(
    [
        {
            "id": i.id,
            "status": i.status,
            "reason": i.reason,
            "segment": i.segment,
            "release": i.release,
            "labels": f"{i.labels_done} of {i.overlap_k}",
            "assignee": i.assignee or "",
            "guardrails": ", ".join(i.guardrails),
            "input": i.input,
            "trace_external_id": i.trace_external_id,
            "ts": i.ts,
            "model": i.model,
            "queue": i.queue,
            "priority": i.priority,
            "created_at": i.created_at,
        }
        for i in page.items
    ]
)
if query.judge_question and not rows.empty:  # only a lead's query names one (blind review)
    rows.insert(7, "judge_score", [i.judge_score for i in page.items])
HEADERS = {
    "trace_external_id": "Trace",
    "ts": "Trace time",
    "created_at": "Sampled at",
    "assignee": "Assigned to",
}
if rows.empty and page.total:
    st.info(f"Page {int(page_no)} is past the last page ({page.pages}) for these filters.")
elif rows.empty:
    st.info("No items match these filters.")
else:
    formatting.table(rows, key="items_grid", labels=HEADERS)

kind, message = st.session_state.pop(FLASH, (None, None))
if message:
    (st.success if kind == "success" else st.error)(message)

with st.expander("Save these filters as a view"):
    name = st.text_input("View name", key="items_view_name")
    left, right = st.columns(2)
    if left.button("Save view", key="items_save", disabled=not name.strip()):
        try:
            desk.items.save_view(actor=actor, name=name, query=query)
            st.session_state[FLASH] = ("success", f"View {name.strip()!r} saved.")
        except ReviewStoreError as exc:
            st.session_state[FLASH] = ("error", str(exc))
        st.rerun()
    current = st.session_state.get("items_view")
    if right.button(f"Delete view {current!r}" if current else "Delete view", key="items_delete",
                    disabled=current is None):  # fmt: skip
        try:
            desk.items.delete_view(actor=actor, name=current)
            st.session_state[FLASH] = ("success", f"View {current!r} deleted.")
        except ReviewStoreError as exc:
            st.session_state[FLASH] = ("error", str(exc))
        st.session_state.pop("items_view", None)
        st.rerun()

if page.items:
    by_id = {i.id: i for i in page.items}
    opened = st.selectbox(
        "Open an item",
        list(by_id),
        key="items_open",
        format_func=lambda i: (
            f"item {i} · {by_id[i].status} · {by_id[i].segment} · trace {by_id[i].trace_external_id}"
        ),
    )
    item = by_id[opened]
    st.subheader(f"Item {item.id}")
    st.caption(
        f"{item.queue} queue · sampled because: {item.reason} · {item.labels_done} of {item.overlap_k} labels "
        f"· created {formatting.when(item.created_at)} · assigned to {item.assignee or 'nobody'}"
    )
    trace_card.render(desk.review.item(item.id))
    if actor.can("assign_items"):
        st.markdown("**Assign items to a reviewer**")
        open_ids = [i.id for i in page.items if i.status == "open"]
        picked = st.multiselect("Items (open ones on this page)", open_ids, key="items_assign_ids")
        reviewers = desk.items.options().reviewers
        who = st.selectbox("Reviewer", [None, *reviewers], key="items_assign_to",
                           format_func=lambda r: "nobody (unassign)" if r is None else r)  # fmt: skip
        if st.button("Assign", key="items_assign", disabled=not picked):
            try:
                n = desk.items.assign(actor=actor, item_ids=picked, reviewer=who)
                st.session_state[FLASH] = ("success", f"{n} item(s) assigned to {who or 'nobody'}.")
            except ReviewStoreError as exc:
                st.session_state[FLASH] = ("error", str(exc))
            st.rerun()
