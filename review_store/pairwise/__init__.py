"""Model migration: pairwise comparison of a candidate release against a baseline on the same inputs.

`review_store.pairwise.stats` holds the paired statistics (win rate, exact sign test, paired bootstrap CI)."""
