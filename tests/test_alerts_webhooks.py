"""Webhook addresses: link-local / cloud metadata hosts and non-http(s) schemes are refused with a clear
error when a rule is added (facade and CLI), loopback and private hosts are allowed unless the team setting
alerts.webhooks refuses them, and a host name that resolves to a metadata address is refused at send time
without a connection. Both databases for the stored parts."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from review_store import settings as team_settings
from review_store.alerts import webhooks
from review_store.alerts.delivery import RetryPolicy, send
from review_store.cli import app
from review_store.db import session_scope
from review_store.desk import ValidationFailed
from review_store.permissions import actor_for
from tests.factories import cli_token
from tests.test_alerts import FAST, T0, _escalate, _world
from tests.webhook_receiver import webhook_receiver

METADATA = [
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.10.1/hook",
    "http://[fe80::1]/hook",
    "http://2852039166/latest",  # 169.254.169.254 as one number
    "http://0xa9fea9fe/latest",  # ... in hex
    "http://0251.0376.0251.0376/",  # ... in octal
    "http://[::ffff:169.254.169.254]/",  # ... IPv4-mapped IPv6
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./x",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fd00:ec2::254]/latest",
]


@pytest.mark.parametrize("url", METADATA)
def test_link_local_and_metadata_hosts_are_refused(url):
    with pytest.raises(
        ValidationFailed, match=r"^webhook_url: refused: .*(link-local / cloud metadata|metadata host)"
    ):
        webhooks.validate_url(url)
    with pytest.raises(ValidationFailed, match="metadata"):  # whatever the setting allows
        webhooks.validate_url(url, allow_loopback=True, allow_private=True)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/x", "is not an http:// or https:// URL"),
        ("file:///etc/passwd", "is not an http:// or https:// URL"),
        ("gopher://127.0.0.1:70/_x", "is not an http:// or https:// URL"),
        ("javascript:alert(1)", "is not an http:// or https:// URL"),
        ("http://0.0.0.0:8080/", "0.0.0.0 is not a unicast host address"),
        ("http://224.0.0.1/", "224.0.0.1 is not a unicast host address"),
    ],
)
def test_other_schemes_and_non_unicast_hosts_are_refused(url, message):
    with pytest.raises(ValidationFailed, match=message.replace("(", r"\(")):
        webhooks.validate_url(url)


def test_loopback_and_private_follow_the_setting():
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]:9/x", "http://10.0.0.5/h",
                "http://192.168.1.20/h", "https://hooks.slack.com/services/T/B/X"):  # fmt: skip
        assert webhooks.validate_url(url) == url
    with pytest.raises(
        ValidationFailed, match=r"127.0.0.1 is loopback \(refused by the setting alerts.webhooks.loopback\)"
    ):
        webhooks.validate_url("http://127.0.0.1:8080/hook", allow_loopback=False)
    with pytest.raises(ValidationFailed, match="localhost is loopback"):
        webhooks.validate_url("http://localhost/hook", allow_loopback=False)
    with pytest.raises(
        ValidationFailed,
        match=r"10.0.0.5 is a private address \(refused by the setting alerts.webhooks.private\)",
    ):
        webhooks.validate_url("http://10.0.0.5/h", allow_private=False)
    assert webhooks.validate_url("http://127.0.0.1/h", allow_private=False)  # loopback is its own switch


def test_adding_a_rule_refuses_metadata_and_reads_the_setting(engine, db_url):
    desk, _, lead, _ = _world(engine, db_url)
    with pytest.raises(ValidationFailed, match="^webhook_url: refused: 169.254.169.254 is a link-local"):
        desk.alerts.add(actor=lead, name="imds", kind="budget", webhook_url="http://169.254.169.254/latest")
    assert desk.alerts.list(actor=lead) == ()
    desk.alerts.add(actor=lead, name="local", kind="budget", webhook_url="http://127.0.0.1:9/hook")
    with session_scope(engine) as s:
        team_settings.put(s, actor=actor_for(s, "lena"), key="alerts.webhooks", value={"loopback": "refuse"})
    with pytest.raises(ValidationFailed, match="loopback"):
        desk.alerts.add(actor=lead, name="local2", kind="budget", webhook_url="http://localhost:9/hook")
    assert [r.name for r in desk.alerts.list(actor=lead)] == ["local"]


def test_cli_add_exits_2_naming_the_reason(engine, db_url):
    _world(engine, db_url)
    out = CliRunner().invoke(
        app,
        [
            "--db",
            db_url,
            "alerts",
            "add",
            "imds",
            "--kind",
            "budget",
            "--url",
            "http://169.254.169.254/",
            "--as",
            "lena",
        ],
        env=cli_token(db_url, "lena"),
    )
    assert out.exit_code == 2, out.output
    assert "webhook_url: refused: 169.254.169.254 is a link-local / cloud metadata address" in out.output


def test_send_refuses_a_name_resolving_to_metadata_without_connecting(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "hooks.sneaky.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert webhooks.validate_url("http://hooks.sneaky.example/x")  # a name: allowed when the rule is added
    (attempt,) = send("http://hooks.sneaky.example/x", {"a": 1}, RetryPolicy(3, 0.0, 1.0))
    assert not attempt.ok and attempt.status_code is None
    assert attempt.error == (
        "refused: hooks.sneaky.example resolves to 169.254.169.254 is a link-local / cloud metadata address"
    )


def test_a_check_refuses_loopback_once_the_setting_says_so(engine, db_url):
    desk, clock, lead, _ = _world(engine, db_url)
    _escalate(engine, at=T0)
    with webhook_receiver() as hook:
        desk.alerts.add(actor=lead, name="sla", kind="escalation_sla", webhook_url=hook.url)
        with session_scope(engine) as s:
            team_settings.put(
                s, actor=actor_for(s, "lena"), key="alerts.webhooks", value={"loopback": "refuse"}
            )
        clock.set(T0 + timedelta(hours=49))
        report = desk.alerts.check(actor=lead, retry=FAST)
        assert hook.requests == []
    (rule,) = report.rules
    assert report.failed and rule.status == "failed"
    assert [a.error for a in rule.attempts] == [
        "refused: 127.0.0.1 is loopback (refused by the setting alerts.webhooks.loopback)"
    ]
