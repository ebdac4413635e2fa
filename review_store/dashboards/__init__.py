"""The dashboards noun of the store."""
