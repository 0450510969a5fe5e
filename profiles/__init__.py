"""The profile store: users, attribute definitions, profiles, conversations, the decision log (SQL)."""

from profiles.store import Store, open_store

__all__ = ["Store", "open_store"]
