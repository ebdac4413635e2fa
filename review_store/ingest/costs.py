"""A trace's cost when its source did not report one: litellm's bundled price map, offline.

`fill_cost(row)` is the one place every ingest path (JSONL, CSV, Parquet, OTLP files, OTLP over HTTP) sets a
row's cost: a cost the record carries is kept and marked `reported`; a record with a model and token
counts but no cost gets `litellm.cost_per_token` and is marked `computed`; otherwise the cost stays
unknown (`cost_source` None). A model the price map does not know, or prices at zero for a non-empty
call (litellm's answer for some models it cannot resolve), is unknown too: a wrong zero would make a
feature look free.

litellm takes seconds to import, so it is imported on the first row that needs it (`warm()` does it
ahead, for the HTTP receiver). `config` sets LITELLM_LOCAL_MODEL_COST_MAP, so it never fetches prices.
Prices are linear in tokens for most models; those are probed once per model and then computed without
litellm (it costs ~0.5 ms a call). Models with token tiers (e.g. a higher price above 200k tokens) are
priced by litellm on every call, cached by (model, tokens in, tokens out).
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from typing import Any

import review_store.config  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm loads)

REPORTED, COMPUTED = "reported", "computed"
COST_SOURCES = (REPORTED, COMPUTED)
_PROBES = (1_000, 2_000, 300_000)  # 300k: past every token tier litellm's price map has
_lock = threading.Lock()
_rates: dict[str, tuple[float, float] | None] = {}  # model -> linear (in, out) price per token; None: tiered
_unknown: set[str] = set()


def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def warm() -> None:
    """Import litellm now (seconds), so the first span without a cost does not wait for it."""
    _litellm()


def _per_token(model: str, tokens_in: int, tokens_out: int) -> tuple[float, float] | None:
    try:
        cost_in, cost_out = _litellm().cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:  # litellm raises several types for a model its price map does not know
        return None
    if not (math.isfinite(cost_in) and math.isfinite(cost_out)) or cost_in < 0 or cost_out < 0:
        return None
    return float(cost_in), float(cost_out)


def _probe(model: str) -> None:
    """Price `model` at a few sizes: linear -> per-token rates; tiered -> exact calls; unknown -> None."""
    points = [_per_token(model, n, n) for n in _PROBES]
    if any(p is None for p in points) or points[0] == (0.0, 0.0):
        _unknown.add(model)
        return
    (a1, b1), *rest = points  # type: ignore[misc]
    linear = all(
        math.isclose(a, a1 * n / _PROBES[0], rel_tol=1e-9)
        and math.isclose(b, b1 * n / _PROBES[0], rel_tol=1e-9)
        for (a, b), n in zip(rest, _PROBES[1:], strict=True)
    )
    _rates[model] = (a1 / _PROBES[0], b1 / _PROBES[0]) if linear else None


@lru_cache(maxsize=65_536)
def _tiered(model: str, tokens_in: int, tokens_out: int) -> float | None:
    cost = _per_token(model, tokens_in, tokens_out)
    return None if cost is None else cost[0] + cost[1]


def compute(model: str | None, tokens_in: int | None, tokens_out: int | None) -> float | None:
    """The price map's cost in USD of one call, or None (no model, no tokens, a model it does not know)."""
    if not model or (not tokens_in and not tokens_out):
        return None
    tokens_in, tokens_out = tokens_in or 0, tokens_out or 0
    if model in _unknown:
        return None
    if model not in _rates:
        with _lock:
            if model not in _rates and model not in _unknown:
                _probe(model)
        if model in _unknown:
            return None
    rates = _rates[model]
    if rates is None:
        return _tiered(model, tokens_in, tokens_out)
    return tokens_in * rates[0] + tokens_out * rates[1]


def fill_cost(row: dict[str, Any]) -> dict[str, Any]:
    """Set `cost_source` on a parsed trace row, computing `cost_usd` when the record had none."""
    if row["cost_usd"] is not None:
        row["cost_source"] = REPORTED
        return row
    cost = compute(row["model"], row["tokens_in"], row["tokens_out"])
    row["cost_usd"] = cost
    row["cost_source"] = COMPUTED if cost is not None else None
    return row
