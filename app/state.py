"""Every session_state key the app uses, named once."""

ACTOR = "actor"  # dict(username, role, id) of the signed-in user; never an ORM object
SIGN_IN_ERROR = "sign_in_error"
SESSION_SECRET = "browser_session_secret"  # this browser session's server-side session (sign-out revokes it)
COOKIE_TRIED = "session_cookie_tried"  # the cookie value already tried, so a dead one is looked up once
COOKIE_WRITE = "session_cookie_write"  # a cookie write the browser has not confirmed yet
COOKIE_WRITES = "session_cookie_writes"  # counts writes: each gets a fresh component key
OVERVIEW_FILTERS = "overview_filters"
REVIEW_ITEM = "review_item_id"
REVIEW_STARTED = "review_started_at"
REVIEW_SUBMITTED = "review_submitted_item"
FLASH = "flash_message"
USERS_PENDING = "users_pending_change"  # Settings > Users: the change waiting for confirmation
USERS_FLASH = "users_flash"  # Settings > Users: (kind, text) of the last change
APIKEYS_NEW = (
    "apikeys_new_secret"  # Settings > API keys: (username, secret) of a key just created, shown once
)
APIKEYS_FLASH = "apikeys_flash"  # Settings > API keys: (kind, text) of the last change
ALERTS_FLASH = "alerts_flash"  # Settings > Alerts: (kind, text) of the last change
