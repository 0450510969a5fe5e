"""Profile store: users, attributes, profiles, conversations and the decision log (SQL)."""
