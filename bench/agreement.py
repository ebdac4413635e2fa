"""Agreement statistics at scale (`python -m bench.agreement`): what `make bench` measures for them.

- agreement_s: `agreement.summarize` of 100,000 items x 3 raters on a 1-5 scale (5 % missing), ordinal,
  with a 1,000-resample bootstrap CI.
- agreement_continuous_s: 1,000,000 ratings of continuous judge scores (333,334 items x 3 raters, about
  890,000 distinct values) summarised at each level (nominal, ordinal, interval, ratio) with a
  1,000-resample CI (Poisson bootstrap, `agreement.poisson`), one `summarize` call per level; seconds per
  level (the check takes the worst). agreement_continuous_cpu_s: the CPU seconds of this process per
  level (all its threads): on a shared machine the wall time mostly measures the other processes' load,
  the CPU time what the computation costs. agreement_continuous_all_levels_s / _cpu_s: the four levels
  in one `summarize_levels` call (encoded and grouped once, one set of resample weights for all levels;
  each level's summary equal to its own call's, which the run checks).
- Before timing, the same code is checked on subsamples: alpha against the krippendorff package on 100
  items at every level (to 1e-9), and the CI (first-order resamples, `agreement.linear`) against a
  bootstrap of exact resamples (`engine.Statistic`, other draws) on 3,000 items, to a quarter of the
  interval's width; each level's estimate must lie inside its CI.

Results are merged into bench/results.json (other measures are kept); `python -m bench.report --write`
renders the README table from it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd

from review_store import agreement
from review_store.agreement.engine import Statistic

HERE = Path(__file__).resolve().parent
CONTINUOUS_ITEMS, RATERS, RESAMPLES = 333_334, 3, 1000


def scale_table(items: int = 100_000, raters: int = RATERS) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    truth = rng.integers(1, 6, items)
    noise = rng.choice([-1, 0, 0, 0, 1], size=(raters, items))
    table = pd.DataFrame(np.clip(truth + noise, 1, 5).astype(float))
    table.iloc[0, rng.choice(items, items // 20, replace=False)] = np.nan
    return table


def continuous_table(items: int = CONTINUOUS_ITEMS, raters: int = RATERS) -> pd.DataFrame:
    """Judge-like scores: a true quality per item plus rater noise, positive (ratio needs >= 0). On every
    third item the second rater repeats the first exactly (a cached judge answer), so nominal agreement
    is not identically zero; about 890,000 distinct values."""
    rng = np.random.default_rng(17)
    truth = rng.random(items)
    table = np.abs(truth + rng.normal(0, 0.1, (raters, items))) + 1e-4
    table[1, ::3] = table[0, ::3]
    return pd.DataFrame(table)


def check_against_package(table: pd.DataFrame, items: int = 100) -> dict[str, float]:
    """Largest |ours - krippendorff package| per level on the first `items` items; raises above 1e-9."""
    sample = table.iloc[:, :items]
    gaps = {}
    for level in agreement.LEVELS:
        ours = agreement.krippendorff_alpha(sample, level=level)
        reference = krippendorff.alpha(sample.to_numpy(), level_of_measurement=level)
        gaps[level] = abs(ours - reference)
        if not gaps[level] <= 1e-9:
            raise AssertionError(f"{level}: ours {ours!r} vs krippendorff {reference!r}")
    return gaps


def check_ci_against_exact(table: pd.DataFrame, items: int = 3000) -> dict[str, float]:
    """Per level, the largest gap between our CI on the first `items` items and the percentile CI of
    exact resamples (multinomial group counts, each resample's alpha exact), as a share of the width;
    raises above 1/4 (both are Monte Carlo estimates of the same interval, from different draws)."""
    sample = table.iloc[:, :items]
    gaps = {}
    for level in agreement.LEVELS:
        lo, hi = agreement.bootstrap_alpha_ci(sample, level=level, seed=1, resamples=RESAMPLES)
        groups = agreement.encode(sample, level=level).groups()
        n = int(groups.freq.sum())
        weights = np.random.default_rng(2).multinomial(n, groups.freq / n, size=RESAMPLES).astype(float)
        exact = np.percentile(Statistic(groups, level, resampling=True)(weights), [2.5, 97.5])
        gaps[level] = max(abs(lo - exact[0]), abs(hi - exact[1])) / (exact[1] - exact[0])
        if not gaps[level] <= 0.25:
            raise AssertionError(f"{level}: CI {(lo, hi)} vs exact resamples {tuple(exact)}")
    return gaps


def run() -> dict:
    scale = scale_table()
    started = time.perf_counter()
    agreement.summarize(scale, level="ordinal", seed=1, resamples=RESAMPLES)
    out: dict = {"agreement_s": round(time.perf_counter() - started, 3)}
    table = continuous_table()
    gaps = check_against_package(table)
    ci_gaps = check_ci_against_exact(table)
    seconds, cpu, alphas, summaries = {}, {}, {}, {}
    for level in agreement.LEVELS:
        started, cpu_started = time.perf_counter(), time.process_time()
        summaries[level] = summary = agreement.summarize(table, level=level, seed=1, resamples=RESAMPLES)
        seconds[level] = round(time.perf_counter() - started, 3)
        cpu[level] = round(time.process_time() - cpu_started, 3)
        lo, hi = summary.ci95
        if not (lo is not None and lo <= summary.krippendorff_alpha <= hi):
            raise AssertionError(f"{level}: alpha {summary.krippendorff_alpha} outside its CI {summary.ci95}")
        alphas[level] = round(summary.krippendorff_alpha, 6)
    started, cpu_started = time.perf_counter(), time.process_time()
    together = agreement.summarize_levels(table, seed=1, resamples=RESAMPLES)
    out["agreement_continuous_all_levels_s"] = round(time.perf_counter() - started, 3)
    out["agreement_continuous_all_levels_cpu_s"] = round(time.process_time() - cpu_started, 3)
    for level, summary in together.items():
        if summary != summaries[level]:
            raise AssertionError(f"{level}: summarize_levels differs from summarize")
    out["agreement_continuous_s"] = seconds
    out["agreement_continuous_cpu_s"] = cpu
    out["agreement_continuous_alpha"] = alphas
    out["agreement_continuous_check"] = (
        f"max |ours - krippendorff| on 100 items: {max(gaps.values()):.1e}; CI vs exact resamples on 3,000 "
        f"items: within {max(ci_gaps.values()):.0%} of its width"
    )
    out["agreement_load"] = round(os.getloadavg()[0], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results.json", help="Merged into; other keys kept."
    )
    args = parser.parse_args()
    measured = run()
    from bench.run import merge_into

    merge_into(args.out, measured)


if __name__ == "__main__":
    main()
