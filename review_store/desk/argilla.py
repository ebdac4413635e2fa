"""desk.argilla: push a review queue to an Argilla 2.x dataset, pull submitted responses back as labels.

No transaction stays open during an HTTP call: push reads the queue, sends, then records the audit event;
pull reads the dataset from the server, then writes the labels in one transaction. The server is
ARGILLA_API_URL / ARGILLA_API_KEY unless given.
"""

from __future__ import annotations

from review_store.desk.base import Part, ReadModel
from review_store.permissions import Actor, refresh_actor, require


class PushView(ReadModel):
    dataset: str
    workspace: str | None
    created_dataset: bool
    records: int
    suggestions: int
    overlap_k: int
    rubric: str


class PullView(ReadModel):
    dataset: str
    records_seen: int
    inserted: int
    already_present: int
    unknown_users: tuple[str, ...]
    unknown_records: tuple[str, ...]
    invalid: tuple[str, ...]


class ArgillaPart(Part):
    def push(
        self,
        *,
        actor: Actor,
        dataset: str,
        workspace: str | None = None,
        queue: str = "sampled",
        limit: int | None = None,
        rubric: str | None = None,
        api_url: str | None = None,
        api_key: str | None = None,
    ) -> PushView:
        """Upsert the queue's open items as records (judge verdicts as suggestions); safe to repeat.

        Needs export_data. Raises ValidationFailed (no server configured, a rubric Argilla cannot
        express), NotFound (rubric), PermissionDenied."""
        from review_store.argilla import sync

        client = sync.connect(api_url, api_key)
        with self._read() as session:
            plan = sync.plan_push(
                session, actor=refresh_actor(session, actor), queue=queue, limit=limit, rubric=rubric
            )
        report = sync.send_push(client, plan, dataset=dataset, workspace=workspace)
        with self._write(actor) as (session, who):
            assert who is not None
            sync.record_push(session, actor=who, report=report, queue=queue)
            return PushView(**report.as_dict())

    def pull(
        self,
        *,
        actor: Actor,
        dataset: str,
        workspace: str | None = None,
        user_map: dict[str, str] | None = None,
        api_url: str | None = None,
        api_key: str | None = None,
    ) -> PullView:
        """Submitted responses become labels (source=argilla); existing ones are not duplicated.

        Argilla usernames map to local users through `user_map` or by the same name; unknown users are
        reported, never created. Needs import_data. Raises NotFound (no such dataset), ValidationFailed."""
        from review_store.argilla import sync

        client = sync.connect(api_url, api_key)
        with self._read() as session:
            require(refresh_actor(session, actor), "import_data")
        fetched = sync.fetch_pull(client, dataset=dataset, workspace=workspace)
        with self._write(actor) as (session, who):
            assert who is not None
            report = sync.apply_pull(session, actor=who, fetched=fetched, user_map=user_map)
            data = report.as_dict()
            return PullView(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()},
            )
