"""The demo story at scale: for every seed 1-50 at three end dates, `review-desk demo --seed S --end D`
followed by `review-desk release gate r3` must exit 0 and `release gate r2` exit 1.

    .venv/bin/python -m bench.demo_story [--seeds 50] [--ends 2026-03-29,2026-12-31,2028-02-29] [--jobs 2]

Each world is built by the CLI into its own SQLite file (default trace count), then both gates run through
the CLI. Prints a table (one row per world, with the judge's trust numbers the r3 gate saw) and writes
bench/demo_story.json. Exit 1 when any world breaks the story.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENDS = (
    "2026-03-29",
    "2026-12-31",
    "2028-02-29",
)  # a Sunday when Europe's clocks change, a year end, a leap day


def _world(seed: int, end: str, traces: int) -> dict:
    from typer.testing import CliRunner

    from review_store.cli import app

    runner = CliRunner()
    with tempfile.TemporaryDirectory(prefix="demo-story-") as tmp:
        os.chdir(tmp)  # demo-credentials.txt lands here
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        started = time.perf_counter()
        built = runner.invoke(
            app, ["--db", url, "demo", "--seed", str(seed), "--end", end, "--traces", str(traces)]
        )
        build_s = time.perf_counter() - started
        if built.exit_code != 0:
            return {"seed": seed, "end": end, "ok": False, "error": built.output[-500:]}
        gates = {
            name: runner.invoke(app, ["--db", url, "--json", "release", "gate", name])
            for name in ("r2", "r3")
        }
    r3 = json.loads(gates["r3"].output)
    trust = {}
    for row in r3["rows"]:
        if row.get("question") and row["question"] not in trust:
            trust[row["question"]] = row["note"]
    return {
        "seed": seed,
        "end": end,
        "r2_exit": gates["r2"].exit_code,
        "r3_exit": gates["r3"].exit_code,
        "ok": gates["r2"].exit_code == 1 and gates["r3"].exit_code == 0,
        "r3_failing": [row["metric"] for row in r3["rows"] if row["result"] != "pass"],
        "trust": trust,
        "build_s": round(build_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="check seeds 1..N")
    parser.add_argument("--ends", default=",".join(ENDS), help="comma-separated ISO end dates")
    parser.add_argument("--traces", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=2, help="worlds built at once (processes)")
    parser.add_argument("--out", type=Path, default=HERE / "demo_story.json")
    args = parser.parse_args()
    os.environ.setdefault("REVIEW_DESK_DEMO_PASSWORD", "bench-pass-123")
    ends = [e.strip() for e in args.ends.split(",") if e.strip()]
    cases = [(seed, end) for end in ends for seed in range(1, args.seeds + 1)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(_world, *zip(*cases, strict=True), [args.traces] * len(cases)))
    print(f"{'seed':>4}  {'end':<10}  r2  r3  build_s  r3 judge trust (correctness / groundedness)")
    for r in results:
        if "error" in r:
            print(f"{r['seed']:>4}  {r['end']:<10}  build failed: {r['error']}")
            continue
        notes = " / ".join(
            r["trust"].get(q, "-").split(": ", 1)[-1].split(";")[0] for q in ("correctness", "groundedness")
        )
        mark = "" if r["ok"] else "  <-- STORY BROKEN"
        print(
            f"{r['seed']:>4}  {r['end']:<10}  {r['r2_exit']:>2}  {r['r3_exit']:>2}  {r['build_s']:>7}  {notes}{mark}"
        )
    broken = [r for r in results if not r["ok"]]
    summary = {
        "worlds": len(results),
        "story_holds": len(results) - len(broken),
        "broken": [(r["seed"], r["end"]) for r in broken],
        "traces": args.traces,
        "ends": ends,
        "seconds": round(time.perf_counter() - started, 1),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "results": results,
    }
    args.out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\n{summary['story_holds']} of {summary['worlds']} worlds hold the story; wrote {args.out}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
