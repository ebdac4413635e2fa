"""What a notification says: a generic JSON object, or a Slack-compatible {"text", "blocks"} message.

Generic JSON: {"source": "review-desk", "rule", "kind", "as_of", "firing": [{"subject", "summary",
"details"}]}. Slack: "text" is the one-line fallback (notifications, screen readers); "blocks" holds a
header and one mrkdwn section per subject (Slack shows at most 50 blocks: further subjects are counted).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from review_store.alerts.kinds import DESCRIPTIONS, Hit

FORMATS = ("json", "slack")
MAX_SLACK_SECTIONS = 48  # + header + the "and N more" line stays within Slack's 50 blocks


def generic(rule: str, kind: str, at: datetime, hits: list[Hit]) -> dict[str, Any]:
    return {
        "source": "review-desk",
        "rule": rule,
        "kind": kind,
        "as_of": at.isoformat(),
        "firing": [{"subject": h.subject, "summary": h.summary, "details": h.details} for h in hits],
    }


def slack(rule: str, kind: str, at: datetime, hits: list[Hit]) -> dict[str, Any]:
    title = f"Review Desk alert {rule}: {len(hits)} firing ({DESCRIPTIONS[kind]})"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    for hit in hits[:MAX_SLACK_SECTIONS]:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{hit.subject}*\n{hit.summary}"[:3000]}}
        )
    if len(hits) > MAX_SLACK_SECTIONS:
        more = len(hits) - MAX_SLACK_SECTIONS
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {more} more"}]})
    text = f"{title} at {at:%Y-%m-%d %H:%M} UTC: " + "; ".join(h.subject for h in hits)
    return {"text": text[:3000], "blocks": blocks}


def build(payload_format: str, rule: str, kind: str, at: datetime, hits: list[Hit]) -> dict[str, Any]:
    return (slack if payload_format == "slack" else generic)(rule, kind, at, hits)
