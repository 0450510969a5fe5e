"""What one user's chat turns and decisions may cost, whichever door they come through: requests per
minute (one ``UserRate`` for the whole server, shared by ``/v1``, the named endpoints and the web
app's tabs) and the characters one user may store: conversations, profiles and the decision log.

Both are checked before anything is stored or the model is asked; a refusal says what to do next.
"""

from __future__ import annotations

from alignment.errors import AlignError
from assistant.app.user_rate import RateLimited, UserRate
from profiles.schemas import Actor
from profiles.storage_use import stored_chars
from profiles.store import Store

__all__ = ["StorageFull", "TooManyRequests", "UsageLimits"]


class TooManyRequests(AlignError):
    """More requests in a minute than the user's limit; ``wait_s``: when the next one is accepted."""

    def __init__(self, limit: int, wait_s: float) -> None:
        super().__init__(
            f"you sent more than {limit} requests in a minute; wait {max(1, round(wait_s))} s, then try again"
        )
        self.limit = limit
        self.wait_s = wait_s


class StorageFull(AlignError):
    """What the user stores (conversations, profiles, decision log) holds their quota: the request was
    neither stored nor answered."""

    def __init__(self, used: int, quota: int) -> None:
        super().__init__(
            f"you store {used:,} characters (conversations, profiles and the decision log together), "
            f"the limit is {quota:,}: this was not stored or answered; delete old conversations in the "
            "Chat tab (Delete this conversation) or profiles you no longer need; decisions stay in the "
            "log, so if that is not enough, ask an admin to raise the limit"
        )
        self.used = used
        self.quota = quota


class UsageLimits:
    """``per_minute``: requests (chat turns, decisions, comparisons) per user per minute;
    ``quota_chars``: the characters one user may store (conversations, profiles, decision log)."""

    def __init__(self, store: Store, *, per_minute: int, quota_chars: int) -> None:
        self.store = store
        self.rate = UserRate(per_minute)
        self.quota_chars = quota_chars

    def take(self, actor: Actor) -> None:
        """Count one request of ``actor``; ``TooManyRequests`` (not counted) past the limit."""
        try:
            self.rate.take(actor.name)
        except RateLimited as exc:
            raise TooManyRequests(exc.limit, exc.wait_s) from None

    def check_storage(self, actor: Actor, adding: int = 0) -> None:
        """``StorageFull`` once what the actor stores holds the quota, or would pass it with ``adding``
        more characters (checked before a chat turn, a decision, a comparison, a profile is stored)."""
        used = stored_chars(self.store.sessions, actor)
        if used >= self.quota_chars or used + adding > self.quota_chars:
            raise StorageFull(used, self.quota_chars)
