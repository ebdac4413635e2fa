"""Domain errors: the store says no with these, and the UI and CLI show the message as it is."""


class ReviewStoreError(Exception):
    """Base of every refusal the store makes on purpose."""


class PermissionDenied(ReviewStoreError):
    """The acting user's role may not do this."""


class SignInLocked(PermissionDenied):
    """Too many failed sign-ins for this username or address: refused until `until` (naive UTC)."""

    def __init__(self, message: str, *, until) -> None:
        super().__init__(message)
        self.until = until


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


# The one mapping from errors to exit codes (CLI) -- HTTP statuses derive from the same classes.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def exit_code_for(exc: BaseException) -> int:
    """2 for bad usage or input (what the caller must change), 1 for everything else the store refused
    or could not do now (a failed check, a conflict, a busy or lost database)."""
    if isinstance(exc, ValidationFailed | NotFound | PermissionDenied | DatabaseNotEmpty):
        return EXIT_BAD_INPUT
    return EXIT_FAILED
