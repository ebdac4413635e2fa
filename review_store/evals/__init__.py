"""Three-tier evals. Tier 1 (this package): deterministic checks declared in the release manifest, run over
the golden set and recent traffic; tier 2 is the LLM judge (review_store.judge), tier 3 human review.

    checks   the checks' declaration (validated) and answers (pure functions)
    records  check runs as records: the newest run of a release (what the gate reads), a run's summary
    runner   `run_checks`: gather the cases, answer every check, store the run (audited)
    stack    the eval stack of a release: checks -> judge -> human, counts, pass rate and cost
"""
