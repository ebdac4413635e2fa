"""Domain errors: the store says no with these, and the UI and CLI show the message as it is."""


class ReviewStoreError(Exception):
    """Base of every refusal the store makes on purpose."""


class PermissionDenied(ReviewStoreError):
    """The acting user's role may not do this."""


class NotFound(ReviewStoreError):
    """A named thing does not exist."""


class ValidationFailed(ReviewStoreError):
    """Input does not fit; the message names what and where."""


class ConflictError(ReviewStoreError):
    """The action clashes with the current state (already exists, immutable, wrong status)."""


class DatabaseNotEmpty(ReviewStoreError):
    """Refusing to overwrite data that is already there."""


class DatabaseBusy(ReviewStoreError):
    """Another writer held the database longer than the busy timeout; nothing was written, try again."""


class DatabaseUnavailable(ReviewStoreError):
    """The database connection dropped mid-transaction; nothing of this action was kept, try again."""
