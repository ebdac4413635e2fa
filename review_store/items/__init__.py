"""The item browser: review items with their traces, filtered and paged (browse.py), a lead's assignment
of items to a reviewer that the queue honours (assign.py), and each user's saved filter sets (views.py)."""

from review_store.items.assign import assign, reserved_slots
from review_store.items.browse import MAX_LIMIT, ItemFilters, browse, filter_options
from review_store.items.views import delete_view, list_views, save_view

__all__ = [
    "MAX_LIMIT",
    "ItemFilters",
    "assign",
    "browse",
    "delete_view",
    "filter_options",
    "list_views",
    "reserved_slots",
    "save_view",
]
