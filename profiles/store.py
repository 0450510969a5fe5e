"""The profile store: one object holding every sub-store, built from a session factory."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from alignment.errors import ConfigError, StoreUnavailable
from profiles import migrate
from profiles.api_keys import ApiKeyStore
from profiles.attributes import AttributeStore
from profiles.calibrations import CalibrationStore
from profiles.catalogue import AttributeCatalogue
from profiles.conversations import ConversationStore
from profiles.db import SessionFactory, make_engine, make_session_factory
from profiles.decision_log import DecisionLogStore
from profiles.feedback import FeedbackStore
from profiles.profile_store import ProfileStore
from profiles.users import UserStore

__all__ = ["Store", "open_store"]


class Store:
    """Users, attribute definitions (and their ``catalogue``), profiles, conversations, the
    decision log and API keys.

    Handed its session factory; it never creates an engine itself. Every method that reads or
    changes a user's data takes the acting user (an ``Actor``) and checks access.
    """

    def __init__(self, sessions: SessionFactory, engine: Engine | None = None) -> None:
        self.sessions = sessions
        self.engine = engine
        self.users = UserStore(sessions)
        self.attributes = AttributeStore(sessions)
        self.catalogue = AttributeCatalogue(self.attributes)  # the definitions, cached for decisions
        self.profiles = ProfileStore(sessions)
        self.conversations = ConversationStore(sessions)
        self.log = DecisionLogStore(sessions)
        self.feedback = FeedbackStore(sessions)
        self.calibrations = CalibrationStore(sessions)
        self.api_keys = ApiKeyStore(sessions)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str, *, schema: str | None = None, upgrade: bool = True) -> Store:
    """Engine + session factory for ``url``; migrations run to head first when ``upgrade``.

    A database behind head is upgraded on start-up (a fresh one is created): documented behaviour
    of every ``align`` command. ``align db upgrade`` does the same explicitly.
    """
    engine = make_engine(url, schema=schema)
    try:
        with engine.connect():
            pass
        if upgrade and not migrate.is_current(engine):
            current = migrate.current_revision(engine)
            if current is not None and not migrate.is_known(current):
                engine.dispose()
                raise ConfigError(
                    f"the database is at revision {current}, newer than this program knows "
                    f"(newest {migrate.HEAD}); upgrade align-assistant"
                )
            migrate.upgrade(engine)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StoreUnavailable(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)} ({first}); "
            "check ALIGN_DATABASE_URL / ALIGN_DATA_DIR and that the server is running"
        ) from None
    return Store(make_session_factory(engine), engine)
