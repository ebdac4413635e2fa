"""`review-desk alerts ...` through typer's CliRunner against a local webhook receiver (both databases):
managing rules needs a lead's or admin's credential; `alerts check --as-of` exits 0, or 1 when a
delivery failed after its retries; bad input exits 2."""

from __future__ import annotations

import json
from datetime import datetime

from typer.testing import CliRunner

from review_store.cli import app
from review_store.db import session_scope
from tests.factories import cli_token, make_user
from tests.test_alerts import _escalate
from tests.webhook_receiver import webhook_receiver

runner = CliRunner()
T0 = datetime(2026, 3, 2, 9, 0, 0)


def _run(db_url: str, *args: str, as_user: str | None = None):
    argv = ["--db", db_url, *args] + (["--as", as_user] if as_user else [])
    return runner.invoke(app, argv, env=cli_token(db_url, as_user) if as_user else None)


def test_manage_rules_check_and_deliveries(engine, db_url) -> None:
    with session_scope(engine) as s:
        make_user(s, role="lead", username="lena")
        make_user(s, role="reviewer", username="rita")
    _escalate(engine, at=T0)
    with webhook_receiver() as hook:
        added = _run(db_url, "alerts", "add", "sla", "--kind", "escalation_sla", "--url", hook.url,
                     "--format", "slack", "--cooldown", "0", "--json", as_user="lena")  # fmt: skip
        assert added.exit_code == 0, added.output
        assert json.loads(added.stdout)["payload_format"] == "slack"
        refused = _run(db_url, "alerts", "add", "x", "--kind", "budget", "--url", hook.url, as_user="rita")
        assert refused.exit_code == 2 and "may not manage alerts" in refused.output
        anonymous = _run(db_url, "alerts", "list")
        assert anonymous.exit_code == 2 and "needs a signed-in user's credential" in anonymous.output
        bad = _run(db_url, "alerts", "add", "x", "--kind", "budget", "--url", "ftp://x/y", as_user="lena")
        assert bad.exit_code == 2 and "webhook_url" in bad.output
        bad_param = _run(db_url, "alerts", "add", "x", "--kind", "guardrail_anomaly", "--url", hook.url,
                         "--param", "days=99", as_user="lena")  # fmt: skip
        assert bad_param.exit_code == 2 and "params.days" in bad_param.output

        quiet = _run(db_url, "alerts", "check", "--as-of", "2026-03-03T08:00:00", "--json")  # cron: no --as
        assert quiet.exit_code == 0, quiet.output
        assert [r["status"] for r in json.loads(quiet.stdout)["rules"]] == ["quiet"]
        fired = _run(db_url, "alerts", "check", "--as-of", "2026-03-04T10:00:00Z")
        assert fired.exit_code == 0 and "sent" in fired.stdout
        assert len(hook.requests) == 1 and set(hook.payloads[0]) == {"text", "blocks"}

        listed = json.loads(_run(db_url, "alerts", "list", "--json", as_user="lena").stdout)["rules"]
        assert [(r["name"], r["enabled"], len(r["firing"])) for r in listed] == [("sla", True, 1)]
        rows = json.loads(_run(db_url, "alerts", "deliveries", "--json", as_user="lena").stdout)["deliveries"]
        assert [(r["rule"], r["ok"], r["status_code"]) for r in rows] == [("sla", True, 200)]
        assert rows[0]["attempted_at"] == "2026-03-04T10:00:00"

        assert _run(db_url, "alerts", "disable", "sla", as_user="lena").exit_code == 0
        silent = _run(db_url, "alerts", "check", "--as-of", "2026-03-04T11:00:00", "--json")
        assert silent.exit_code == 0 and json.loads(silent.stdout)["rules"] == []
        assert _run(db_url, "alerts", "enable", "sla", as_user="lena").exit_code == 0

        hook.default = 500  # re-enabled: fires afresh, and the receiver refuses every try
        failed = _run(db_url, "alerts", "check", "--as-of", "2026-03-04T12:00:00", "--attempts", "2",
                      "--backoff", "0", "--json")  # fmt: skip
        assert failed.exit_code == 1
        report = json.loads(failed.stdout)
        assert report["failed"] is True and report["rules"][0]["status"] == "failed"
        assert [a["status_code"] for a in report["rules"][0]["attempts"]] == [500, 500]
        text = _run(db_url, "alerts", "deliveries", "--rule", "sla", as_user="lena").stdout
        assert text.count("FAIL 500") == 2

    assert _run(db_url, "alerts", "check", "--as-of", "yesterday").exit_code == 2
    assert _run(db_url, "alerts", "disable", "nope", as_user="lena").exit_code == 2
