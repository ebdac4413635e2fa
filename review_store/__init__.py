"""LLMOps Review Desk's store: every rule of the product lives here, the UI only calls it."""

__version__ = "0.1.0"
