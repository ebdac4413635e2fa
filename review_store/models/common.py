"""What every table module shares: the metadata with its naming convention, roles, the clock default and
column helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, MetaData, Text
from sqlmodel import Field, SQLModel

from review_store import clock

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

ROLES = ("reviewer", "owner", "lead", "admin")


def utcnow() -> datetime:
    """Now from the clock in force (clock.py); the default of every created_at-style column."""
    return clock.now()


def json_field(default: Any = None) -> Any:
    nullable = default is None
    if isinstance(default, list):
        return Field(default_factory=list, sa_column=Column(JSON, nullable=nullable))
    if isinstance(default, dict):
        return Field(default_factory=dict, sa_column=Column(JSON, nullable=nullable))
    return Field(default=None, sa_column=Column(JSON, nullable=True))


def text_field(nullable: bool = False) -> Any:
    return Field(default=None if nullable else "", sa_column=Column(Text, nullable=nullable))
