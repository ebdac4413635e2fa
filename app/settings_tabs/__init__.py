"""The Settings page's tabs: (title, permission needed, module with render(actor)). Add a line to add a tab."""

from __future__ import annotations

import importlib
from types import ModuleType

TABS: list[tuple[str, str, str]] = [
    ("Users", "manage_users", "users"),
    ("API keys", "manage_users", "api_keys"),
    ("Thresholds", "edit_settings", "thresholds"),
    ("Import", "import_data", "import_data"),
    ("Judges", "edit_judges", "judges"),
    ("Rubrics", "edit_rubrics", "rubrics"),
    ("Sampling", "edit_settings", "sampling"),
    ("Alerts", "manage_alerts", "alerts"),
]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"app.settings_tabs.{name}")
