"""The pages and the roles that see them; st.navigation shows a user only their role's pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "pages"


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    roles: frozenset[str]
    section: str


ALL_ROLES = frozenset({"reviewer", "owner", "lead", "admin"})

PAGES: list[PageSpec] = [
    PageSpec(
        "overview.py", "Overview", ":material/monitoring:", frozenset({"owner", "lead", "admin"}), "Watch"
    ),
    PageSpec("agreement.py", "Agreement", ":material/balance:", frozenset({"lead"}), "Watch"),
    PageSpec("review.py", "Review", ":material/rate_review:", frozenset({"reviewer", "lead"}), "Review"),
    PageSpec(
        "escalations.py", "Escalations", ":material/priority_high:", frozenset({"reviewer", "lead"}), "Review"
    ),
    PageSpec("items.py", "Items", ":material/table_view:", frozenset({"reviewer", "lead"}), "Review"),
    PageSpec("adjudication.py", "Adjudication", ":material/gavel:", frozenset({"lead"}), "Review"),
    PageSpec("golden_set.py", "Golden set", ":material/star:", frozenset({"reviewer", "lead"}), "Review"),
    PageSpec("releases.py", "Releases", ":material/rocket_launch:", frozenset({"owner", "lead"}), "Ship"),
    PageSpec("audit.py", "Audit", ":material/policy:", frozenset({"owner", "lead", "admin"}), "Ship"),
    PageSpec("guardrails.py", "Guardrails", ":material/shield:", frozenset({"owner", "lead"}), "Watch"),
    PageSpec("costs.py", "Costs", ":material/payments:", frozenset({"owner", "lead"}), "Watch"),
    PageSpec("maturity.py", "Maturity", ":material/stairs:", frozenset({"lead"}), "Watch"),
    PageSpec("settings.py", "Settings", ":material/settings:", frozenset({"lead", "admin"}), "Configure"),
]


SECTIONS = ("Watch", "Review", "Ship", "Configure")


def pages_for(role: str) -> list[PageSpec]:
    return [page for page in PAGES if role in page.roles]


PAGE_ICON = Path(__file__).resolve().parent / "page_icon.png"  # local: the app fetches nothing at run time


def no_pages() -> None:
    import streamlit as st

    st.info("Your role has no pages yet.")


def not_for_role(spec: PageSpec, role: str) -> None:
    """A page the signed-in role may not open (a deep link or an old bookmark): say so, link the role's pages."""
    import streamlit as st

    st.title(spec.title)
    st.warning(f"The {spec.title} page is not open to the {role} role.", icon=":material/block:")
    for page in pages_for(role):
        st.page_link(str(PAGES_DIR / page.file), label=page.title, icon=page.icon)
