"""The rollback rule: is the live release worse than the known-good baseline, as rates over a window?

Checks (thresholds from settings "rollback.rule"): guardrail events per 1,000 traces (all, per guardrail,
per guardrail and segment), judge fail rate (score <= 2) per question, and p95 latency. Alerting on rates,
not counts, still needs enough traffic behind each rate, so two guards keep noise from flagging:
- the window is `window_hours` ending at the release's newest trace, widened in whole windows until it
  holds MIN_WINDOW_TRACES traces (or reaches the release's first trace); the baseline window is the
  known-good release's own newest traffic, measured the same way;
- a rate check flags only when the ratio reaches the configured maximum AND the live excess is unlikely
  by chance: one-sided exact test that, given the events on both sides, at least this many fell on the
  live side if both rates were equal (p < MAX_P_VALUE).
The counts come from the hourly rollups plus the raw rows of the window's partial edge hours
(rule_counts.py: guardrail events by their own time, p95 from the latency histogram within 1 %).
This module only reads; `watch.apply_rollback_rule` acts on it in "auto" mode.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from review_store import settings
from review_store.releases.catalog import get_release
from review_store.releases.rule_counts import rates, release_span, traces_in
from review_store.releases.serving import known_good_release, live_release

MIN_WINDOW_TRACES = 2000
MAX_P_VALUE = 0.01


@dataclass
class RuleCheck:
    metric: str
    live: float | None
    baseline: float | None
    ratio: float | None
    max_ratio: float
    flagged: bool
    p_value: float | None = None
    note: str = ""


@dataclass
class RuleStatus:
    mode: str
    live: str | None
    baseline: str | None
    window: dict[str, Any] = field(default_factory=dict)
    checks: list[RuleCheck] = field(default_factory=list)
    action: str = "none"

    @property
    def flagged(self) -> bool:
        return any(c.flagged for c in self.checks)

    @property
    def flagged_checks(self) -> list[RuleCheck]:
        return [c for c in self.checks if c.flagged]

    @property
    def summary(self) -> str:
        if self.live is None or self.baseline is None or self.live == self.baseline:
            return "nothing to watch: no live release besides the known-good one"
        if any(c.metric == "traffic" for c in self.checks):
            return f"{self.live}: no traces to compare with {self.baseline} yet"
        hits = [c.note for c in self.flagged_checks]
        if hits:
            verb = "suggest rollback" if self.mode == "suggest" else "roll back"
            return f"{self.live} flagged ({verb}): " + "; ".join(hits)
        return f"{self.live} within limits against {self.baseline}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "live": self.live,
            "baseline": self.baseline,
            "window": self.window,
            "flagged": self.flagged,
            "summary": self.summary,
            "action": self.action,
            "checks": [asdict(c) for c in self.checks],
        }


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (exact, no scipy needed)."""
    if k <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def excess_p_value(live_count: int, live_n: int, base_count: int, base_n: int) -> float:
    """One-sided conditional test of equal rates: given all events, how likely is this many on the live side."""
    total = live_count + base_count
    if total == 0 or live_n + base_n == 0:
        return 1.0
    return binomial_upper_tail(live_count, total, live_n / (live_n + base_n))


def _rate_check(
    metric: str, live: tuple[int, int], base: tuple[int, int], max_ratio: float, scale: float, unit: str
):
    (lc, ln), (bc, bn) = live, base
    if not ln or not bn:
        return RuleCheck(metric, None, None, None, max_ratio, False, None, f"{metric}: no traffic")
    live_rate, base_rate = scale * lc / ln, scale * bc / bn
    ratio = live_rate / base_rate if base_rate > 0 else (math.inf if live_rate > 0 else 1.0)
    p_value = excess_p_value(lc, ln, bc, bn)
    flagged = ratio >= max_ratio and p_value < MAX_P_VALUE
    note = (
        f"{metric} {live_rate:.1f}{unit} vs {base_rate:.1f}{unit} on the known-good release "
        f"({ratio:.1f}x, limit {max_ratio:g}x; {lc} vs {bc} events, p={p_value:.3g})"
    )
    return RuleCheck(
        metric, round(live_rate, 2), round(base_rate, 2), round(ratio, 2), max_ratio, flagged, p_value, note
    )


def window_of(session: Session, name: str, hours: float) -> tuple[datetime, datetime, int] | None:
    span = release_span(session, name)
    if span is None:
        return None
    first, last = span
    width = timedelta(hours=hours)
    while True:
        start = last - width
        n = traces_in(session, name, start, last)
        if n >= MIN_WINDOW_TRACES or start <= first:
            return start, last, n
        width += timedelta(hours=hours)


def _count(events, *, name: str | None = None, segment: str | None = None) -> int:
    return sum(
        c for nm, seg, c in events if (name is None or nm == name) and (segment is None or seg == segment)
    )


def evaluate(session: Session, *, release: str | None = None) -> RuleStatus:
    """The rule's verdict on the live release (or the named one) against the known-good baseline."""
    rule = settings.get(session, "rollback.rule")
    good = known_good_release(session)
    live = get_release(session, name=release) if release else live_release(session)
    status = RuleStatus(rule.mode, live.name if live else None, good.name if good else None)
    if live is None or good is None or live.id == good.id:
        return status
    hours = rule.window_hours
    live_w, base_w = window_of(session, live.name, hours), window_of(session, good.name, hours)
    if live_w is None or base_w is None:
        status.checks.append(RuleCheck("traffic", None, None, None, 0.0, False, None, "no traces to compare"))
        return status
    status.window = {
        "hours": hours,
        "live": {"start": live_w[0], "end": live_w[1], "traces": live_w[2]},
        "baseline": {"start": base_w[0], "end": base_w[1], "traces": base_w[2]},
    }
    a, b = rates(session, live.name, live_w[0], live_w[1]), rates(session, good.name, base_w[0], base_w[1])
    g_max = rule.max_guardrail_rate_ratio
    checks = [
        _rate_check(
            "guardrail events per 1k traces",
            (_count(a["events"]), a["n"]),
            (_count(b["events"]), b["n"]),
            g_max,
            1000,
            "",
        )
    ]
    for name in sorted({e[0] for e in a["events"]} | {e[0] for e in b["events"]}):
        checks.append(
            _rate_check(
                f"{name} per 1k traces",
                (_count(a["events"], name=name), a["n"]),
                (_count(b["events"], name=name), b["n"]),
                g_max,
                1000,
                "",
            )
        )
        for seg in sorted(set(a["segments"]) & set(b["segments"])):
            checks.append(
                _rate_check(
                    f"{name} per 1k traces in {seg}",
                    (_count(a["events"], name=name, segment=seg), a["segments"][seg]),
                    (_count(b["events"], name=name, segment=seg), b["segments"][seg]),
                    g_max,
                    1000,
                    "",
                )
            )
    j_max = rule.max_judge_fail_rate_ratio
    for question in sorted(set(a["judged"]) & set(b["judged"])):
        (ln, lf), (bn, bf) = a["judged"][question], b["judged"][question]
        checks.append(_rate_check(f"judge fail rate ({question})", (lf, ln), (bf, bn), j_max, 100, "%"))
    l_max = rule.max_p95_latency_ratio
    if a["p95"] is not None and b["p95"]:
        ratio = a["p95"] / b["p95"]
        checks.append(
            RuleCheck(
                "p95 latency ms",
                round(a["p95"], 1),
                round(b["p95"], 1),
                round(ratio, 2),
                l_max,
                ratio >= l_max,
                None,
                f"p95 latency {a['p95']:.0f} ms vs {b['p95']:.0f} ms ({ratio:.1f}x, limit {l_max:g}x)",
            )
        )
    status.checks = checks
    return status
