"""The HTTP API (`review-desk api`): REST under /api/v1 with API keys, OpenAPI docs at /docs.

Every route resolves the caller's API key to an Actor and calls the facade (review_store.desk), so
permission checks and the audit are the store's, as that user; nothing here opens a session.

    from review_store.api import create_app
    app = create_app(Desk.open())        # uvicorn.run(app, host="127.0.0.1", port=8600)
"""

from review_store.api.app import create_app

__all__ = ["create_app"]
