"""desk.settings: the team settings (typed, one schema per key), read all and change one."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from sqlmodel import Session

from review_store import settings
from review_store.desk.base import Part, ReadModel
from review_store.permissions import Actor


class SettingField(ReadModel):
    """One field of a setting, with what a form needs to render and bound it."""

    name: str
    kind: Literal["number", "integer", "choice"]
    value: float | int | str
    default: float | int | str
    description: str
    minimum: float | None = None  # inclusive bound, when the schema has one
    exclusive_minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


class SettingView(ReadModel):
    key: str
    description: str
    fields: tuple[SettingField, ...]
    is_default: bool
    updated_by: str | None
    updated_at: datetime | None

    def value(self) -> dict[str, float | int | str]:
        """{field: value}, the shape `put` takes (a fresh dict: the view itself stays frozen)."""
        return {f.name: f.value for f in self.fields}

    def field(self, name: str) -> SettingField:
        return next(f for f in self.fields if f.name == name)


def _field(name: str, info: Any, value: Any, default: Any) -> SettingField:
    bounds: dict[str, float] = {}
    for meta in info.metadata:
        if isinstance(meta, Ge):
            bounds["minimum"] = float(meta.ge)
        elif isinstance(meta, Gt):
            bounds["exclusive_minimum"] = float(meta.gt)
        elif isinstance(meta, Le):
            bounds["maximum"] = float(meta.le)
        elif isinstance(meta, Lt):
            bounds["maximum"] = float(meta.lt)
    if typing.get_origin(info.annotation) is Literal:
        kind, choices = "choice", tuple(str(c) for c in typing.get_args(info.annotation))
    else:
        kind, choices = ("integer" if info.annotation is int else "number"), ()
    return SettingField(
        name=name,
        kind=kind,
        value=value,
        default=default,
        description=info.description or "",
        choices=choices,
        **bounds,
    )


def _view(session: Session, key: str, typed: settings.SettingModel) -> SettingView:
    schema = settings.SCHEMAS[key]
    default = settings.DEFAULTS[key]
    row = settings.is_set(session, key)
    return SettingView(
        key=key,
        description=(schema.__doc__ or "").strip(),
        fields=tuple(
            _field(name, info, getattr(typed, name), getattr(default, name))
            for name, info in schema.model_fields.items()
        ),
        is_default=row is None,
        updated_by=row.updated_by if row else None,
        updated_at=row.updated_at if row else None,
    )


class SettingsPart(Part):
    def keys(self) -> tuple[str, ...]:
        """Every setting key, in display order."""
        return tuple(settings.SCHEMAS)

    def all(self) -> tuple[SettingView, ...]:
        """Every team setting with its current value (stored, else default) and who last changed it."""
        with self._read() as session:
            return tuple(_view(session, key, typed) for key, typed in settings.all_settings(session).items())

    def get(self, key: str) -> SettingView:
        """One setting (ValidationFailed for an unknown key, or a stored value that no longer validates)."""
        with self._read() as session:
            return _view(session, key, settings.get(session, key))

    def put(self, *, actor: Actor, key: str, value: dict[str, Any] | float) -> SettingView:
        """Change one setting (leads): validated whole first; a bad value raises ValidationFailed naming
        `key.field: reason` and nothing is stored. Fields left out keep their current values. Audited."""
        with self._write(actor) as (session, who):
            typed = settings.put(session, actor=who, key=key, value=value)
            session.flush()
            return _view(session, key, typed)
