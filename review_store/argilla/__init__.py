"""The argilla noun of the store."""
