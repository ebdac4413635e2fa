"""Schema migrations through Alembic, callable from the CLI, the app start and the tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from review_store.config import database_url


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "review_store:migrations")
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database to `revision` (default: newest). Safe to run again and again."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def check(url: str | None = None) -> None:
    """Raise when the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))


def is_empty(engine: Engine) -> bool:
    """True when the database holds no traces and no users (nothing a demo build would overwrite)."""
    from sqlmodel import Session, func, select

    from review_store.models import Trace, User

    if not inspect(engine).has_table("trace"):
        return True
    with Session(engine) as session:
        traces = session.exec(select(func.count()).select_from(Trace)).one()
        users = session.exec(select(func.count()).select_from(User)).one()
    return traces == 0 and users == 0
