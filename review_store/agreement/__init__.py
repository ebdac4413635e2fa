"""Agreement statistics for any ratings table: may a judge (or a reviewer) be trusted?

A *table* is a pandas DataFrame with one row per rater and one column per item (NaN = no rating), so an
LLM judge is just another row. Everything here is pure numpy/pandas, no database: the store builds the
table from labels and verdicts (`table_from_rows`) and calls `summarize`. Alpha and its bootstrap CI
live in `agreement.alpha` (exact for any number of distinct values, continuous scores included) and
are re-exported here, so callers only ever import this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from review_store.agreement.alpha import (
    LEVELS,
    Coded,
    Level,
    bootstrap_alpha_ci,
    bootstrap_alpha_cis,
    encode,
    krippendorff_alpha,
    strictest,
)
from review_store.agreement.kappa import cohen_kappa, confusion_matrix, fleiss_kappa, fleiss_kappa_from_counts

__all__ = [
    "LEVELS",
    "AgreementSummary",
    "Coded",
    "Level",
    "Verdict",
    "bootstrap_alpha_ci",
    "bootstrap_alpha_cis",
    "cohen_kappa",
    "confusion_matrix",
    "consensus",
    "encode",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "krippendorff_alpha",
    "percent_agreement",
    "rater_agreement_with_consensus",
    "summarize",
    "summarize_levels",
    "table_from_rows",
    "trust_verdict",
]

Verdict = Literal["trusted", "needs calibration", "untrusted", "insufficient data"]


def table_from_rows(
    rows: Iterable[Sequence[Any]] | pd.DataFrame, *, on_duplicate: Literal["error", "last"] = "error"
) -> pd.DataFrame:
    """Pivot (item, rater, value) rows into the raters x items table the functions here take.

    Labels and verdicts are stored one row per rating; statistics need a matrix. Items whose only ratings
    are missing stay as all-NaN columns so they are counted as unpairable, not silently dropped. A second
    rating by the same rater for the same item raises ValueError unless `on_duplicate="last"`.
    """
    if isinstance(rows, pd.DataFrame):
        df = rows.loc[:, ["item", "rater", "value"]].copy()
    else:
        df = pd.DataFrame([tuple(r)[:3] for r in rows], columns=["item", "rater", "value"])
    dup = df.duplicated(["item", "rater"], keep=False)
    if dup.any():
        if on_duplicate == "error":
            first = df[dup].iloc[0]
            raise ValueError(f"rater {first['rater']!r} rated item {first['item']!r} more than once")
        df = df.drop_duplicates(["item", "rater"], keep="last")
    values = df["value"]
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() == values.notna().sum():
        df["value"] = numeric.astype(float)
    else:
        df["value"] = values.astype(object)
    table = df.pivot(index="rater", columns="item", values="value")
    table.index.name, table.columns.name = "rater", "item"
    return table


def _pair_agreement(coded: Coded, *, within: float) -> float | None:
    """Mean over pairable items of the share of rater pairs whose values differ by at most `within`."""
    packed, m = coded.packed()
    keep = m >= 2
    if not keep.any():
        return None
    packed, m = packed[keep], m[keep].astype(float)
    agreeing = np.zeros(len(packed))
    for i in range(packed.shape[1]):
        for j in range(i + 1, packed.shape[1]):
            a, b = packed[:, i], packed[:, j]
            both = b >= 0  # rows are left-packed: j present => i present
            gap = np.abs(coded.numeric[a] - coded.numeric[b])
            agreeing += both & (gap <= within + 1e-12)
    return float(np.mean(agreeing / (m * (m - 1) / 2)))


def percent_agreement(
    table: pd.DataFrame | np.ndarray | Coded, *, level: Level = "nominal", adjacent: bool = False
) -> float | None:
    """Exact (or, with `adjacent`, within +-1) agreement, pairwise: for each item rated at least twice,
    the share of rater pairs that agree; then the mean over items. Easy to explain, but not chance
    corrected, which is why alpha and kappa sit beside it."""
    coded = table if isinstance(table, Coded) else encode(table, level=level)
    return _pair_agreement(coded, within=1.0 if adjacent else 0.0)


@dataclass
class AgreementSummary:
    """Everything the CLI, the Agreement page and the release gate show about one ratings table."""

    n_items: int
    n_raters: int
    n_ratings: int
    level: str
    krippendorff_alpha: float | None
    ci95: list[float | None]
    percent_agreement: float | None
    adjacent_agreement: float | None
    n_pairable_items: int
    n_unpairable_items: int
    n_missing: int
    unpairable_items: list[Any] = field(default_factory=list)
    cohen_kappa: float | None = None
    cohen_kappa_unweighted: float | None = None
    fleiss_kappa: float | None = None
    seed: int = 0
    resamples: int = 1000

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (DESIGN.md section 8): keys that do not apply to this table are left out."""
        data = asdict(self)
        if self.n_raters != 2:
            data.pop("cohen_kappa"), data.pop("cohen_kappa_unweighted")
        if self.n_raters <= 2:
            data.pop("fleiss_kappa")
        if self.level == "nominal":
            data.pop("adjacent_agreement")
        return data


def summarize(
    table: pd.DataFrame | np.ndarray,
    *,
    level: Level,
    seed: int = 0,
    resamples: int = 1000,
    value_domain: Sequence[Any] | None = None,
) -> AgreementSummary:
    """All agreement statistics of a raters x items table in one call (see `AgreementSummary`).

    Cohen's kappa (two raters) is quadratic-weighted above the nominal level, because near misses on a
    scale are less wrong than far ones; the unweighted kappa is reported beside it. Fleiss' kappa is
    given for more than two raters.
    """
    return summarize_levels(
        table, levels=(level,), seed=seed, resamples=resamples, value_domain=value_domain
    )[level]


def summarize_levels(
    table: pd.DataFrame | np.ndarray,
    *,
    levels: Sequence[Level] = LEVELS,
    seed: int = 0,
    resamples: int = 1000,
    value_domain: Sequence[Any] | None = None,
) -> dict[Level, AgreementSummary]:
    """`summarize` at several levels of one table: {level: summary}, each equal to `summarize` at that
    level with the same seed. The table is encoded and grouped once and, for continuous scores, the
    bootstrap draws one set of weights for every level (`bootstrap_alpha_cis`)."""
    frame = pd.DataFrame(table)
    coded = encode(frame, level=strictest(levels), value_domain=value_domain)
    rated = (coded.codes >= 0).sum(axis=0)
    unpairable = [frame.columns[i] for i in np.nonzero(rated < 2)[0]]
    cis = bootstrap_alpha_cis(coded, levels=levels, seed=seed, resamples=resamples)
    exact = _pair_agreement(coded, within=0.0)
    adjacent = _pair_agreement(coded, within=1.0) if set(levels) - {"nominal"} else None
    fleiss = fleiss_kappa(coded) if frame.shape[0] > 2 else None
    out: dict[Level, AgreementSummary] = {}
    for level in levels:
        summary = AgreementSummary(
            n_items=int(frame.shape[1]),
            n_raters=int(frame.shape[0]),
            n_ratings=int(rated.sum()),
            level=level,
            krippendorff_alpha=krippendorff_alpha(coded, level=level),
            ci95=list(cis[level]),
            percent_agreement=exact,
            adjacent_agreement=None if level == "nominal" else adjacent,
            n_pairable_items=int((rated >= 2).sum()),
            n_unpairable_items=len(unpairable),
            n_missing=int(coded.codes.size - rated.sum()),
            unpairable_items=list(unpairable),
            seed=seed,
            resamples=resamples,
        )
        if summary.n_raters == 2:
            a, b = (np.where(coded.codes[r] >= 0, coded.codes[r], -1).astype(float) for r in (0, 1))
            a[a < 0], b[b < 0] = np.nan, np.nan
            labels = range(len(coded.domain))
            weighted = "quadratic" if level != "nominal" else None
            summary.cohen_kappa = cohen_kappa(a, b, weights=weighted, labels=labels)
            summary.cohen_kappa_unweighted = cohen_kappa(a, b, labels=labels)
        elif summary.n_raters > 2:
            summary.fleiss_kappa = fleiss
        out[level] = summary
    return out


def rater_agreement_with_consensus(
    table: pd.DataFrame,
    *,
    level: Level,
    value_domain: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Each rater against the consensus of the *other* raters, one row per rater, for leads.

    Why: a reviewer who drifts from the guidelines shows up as low agreement with everybody else.
    Consensus is the majority value of the others (items where the others tie are skipped and counted in
    `n_ties`); above the nominal level also the mean of the others, giving `mean_abs_diff` and
    `adjacent_agreement` (within +-1 of that mean). Only items the rater and at least one other rated.
    """
    frame = pd.DataFrame(table)
    coded = encode(frame, level=level, value_domain=value_domain)
    rows = []
    for r, rater in enumerate(frame.index):
        own = coded.codes[r]
        mine = own >= 0
        others = np.delete(coded.codes, r, axis=0)
        winner, n_others, tie = _majority(others)
        valid = mine & (n_others >= 1)
        decided = valid & ~tie
        row: dict[str, Any] = {
            "rater": rater,
            "n_items": int(valid.sum()),
            "n_ties": int((valid & tie).sum()),
            "exact_agreement": float((winner == own)[decided].mean()) if decided.any() else None,
        }
        if level != "nominal":
            with np.errstate(divide="ignore", invalid="ignore"):
                mean_others = _sums(coded, others) / n_others
            gap = np.abs(coded.numeric[np.where(mine, own, 0)] - mean_others)[valid]
            row["mean_abs_diff"] = float(gap.mean()) if valid.any() else None
            row["adjacent_agreement"] = float((gap <= 1 + 1e-12).mean()) if valid.any() else None
        rows.append(row)
    return pd.DataFrame(rows)


def _majority(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item of a raters x items code array (-1 = missing): (the majority code, -1 if none; how many
    ratings; whether several values share the top count). No items x values matrix: any number of values."""
    top_code = np.iinfo(np.int64).max
    per_item = np.sort(np.where(codes < 0, top_code, codes).T, axis=1)
    present = per_item != top_code
    votes = np.zeros(per_item.shape, dtype=np.int64)
    for k in range(per_item.shape[1]):
        votes += per_item == per_item[:, k : k + 1]
    votes[~present] = 0
    top = votes.max(axis=1) if votes.size else np.zeros(len(per_item), dtype=np.int64)
    n = present.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tie = (n > 0) & ((votes == top[:, None]).sum(axis=1) > top)
    pick = per_item[np.arange(len(per_item)), votes.argmax(axis=1)] if votes.size else np.full(len(n), -1)
    return np.where(n > 0, pick, -1), n, tie


def _sums(coded: Coded, codes: np.ndarray) -> np.ndarray:
    """Per item: the sum of the numeric positions of the rated values in `codes` (raters x items)."""
    return np.where(codes >= 0, coded.numeric[np.where(codes >= 0, codes, 0)], 0.0).sum(axis=0)


def trust_verdict(
    alpha: float | None,
    ci_low: float | None,
    n_items: int,
    *,
    trusted: float = 0.80,
    calibrate: float = 0.667,
    min_items: int = 50,
) -> Verdict:
    """THE trust rule: "trusted" | "needs calibration" | "untrusted" | "insufficient data".

    Too few items (or an undefined alpha) says nothing. "trusted" needs the alpha CI lower bound at or
    above `trusted` (a point estimate alone could be luck of the sample, and a release should not rest
    on it); otherwise alpha at or above `calibrate` (Krippendorff's conventional 0.667) "needs
    calibration", below it "untrusted". Only "trusted" counts as release evidence.
    """
    if alpha is None or n_items < min_items:
        return "insufficient data"
    if ci_low is not None and ci_low >= trusted:
        return "trusted"
    if alpha >= calibrate:
        return "needs calibration"
    return "untrusted"


def consensus(table: pd.DataFrame, *, level: Level, value_domain: Sequence[Any] | None = None) -> pd.Series:
    """One consensus value per item from several raters (e.g. the humans, to compare a judge against).

    Majority value for nominal/ordinal (NaN on a tie: no consensus is better than an arbitrary one);
    mean for interval/ratio. Items nobody rated are NaN.
    """
    frame = pd.DataFrame(table)
    coded = encode(frame, level=level, value_domain=value_domain)
    winner, n, tie = _majority(coded.codes)
    if level in ("interval", "ratio"):
        with np.errstate(divide="ignore", invalid="ignore"):
            values = _sums(coded, coded.codes) / n
        return pd.Series(values, index=frame.columns, dtype=float)
    winners = (
        coded.domain[np.where(winner >= 0, winner, 0)].astype(object)
        if len(coded.domain)
        else winner.astype(object)
    )
    winners[(n == 0) | tie] = np.nan
    return pd.Series(winners, index=frame.columns, dtype=float if coded.domain.dtype.kind == "f" else object)
