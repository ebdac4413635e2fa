"""Run in its own process: render every page for each role with AppTest, print the timings as JSON
(bench.run starts it under bench.peak, which reports the process's peak RSS).

Each timed render starts with st.cache_data cleared, so it is a first render (the engine, a resource,
stays warm as it does in a running app).

Usage: python -m bench.render_pages DB_URL
"""

from __future__ import annotations

import json
import sys
import time

import streamlit as st

from app import navigation
from tests.apptest import open_app, page

ROLE_USERS = {"lead": "lena", "owner": "oscar", "reviewer": "rita", "admin": "adam"}


class _Env:
    """The bit of pytest's monkeypatch that tests.apptest.open_app uses."""

    def setenv(self, key: str, value: str) -> None:
        import os

        os.environ[key] = value


def main(db_url: str) -> dict:
    timings: dict[str, float] = {}
    for role, username in ROLE_USERS.items():
        at = open_app(_Env(), db_url, username)
        at.run(timeout=600)  # warm: imports, engine, default page
        for spec in navigation.pages_for(role):
            at.switch_page(page(spec.file[:-3]))
            st.cache_data.clear()  # a first render: nothing from an earlier page run may be served from cache
            started = time.perf_counter()
            at.run(timeout=600)
            timings[f"{spec.file[:-3]}@{role}"] = round(time.perf_counter() - started, 3)
            if at.exception:
                timings[f"{spec.file[:-3]}@{role}"] = None
                print(f"error rendering {spec.file} as {role}: {at.exception[0].message}", file=sys.stderr)
    return {"page_render_s": timings}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
