"""Alerts that reach people: rules stored in the database, evaluated at a given time by asking the one
store function that owns each rule (kinds.py), notified to webhooks (payloads.py, delivery.py) with dedup,
cooldown and bounded retries (check.py); rules are managed in rules.py."""
