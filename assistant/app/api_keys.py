"""The app's API keys: a person's own keys for the OpenAI-compatible API (an admin may name another
owner). A new key is shown once, in the reply to ``create``; afterwards only its first characters.

Creating a key needs the creator's current password (the passwordless local user excepted): a key
outlives a login session, so a stolen session must not mint one. Wrong passwords count as failed
logins of that user, as for a password change. The operator's ``align api-keys`` needs none.
Each creation counts against the creator's requests per minute (``UsageLimits``, the limit every
other door shares): a key is a stored row and a password check."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from assistant.app.admin import confirm_current
from assistant.app.login_limit import LoginLimiter
from assistant.app.schemas import parse_request
from assistant.app.usage_limits import UsageLimits
from profiles.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from profiles.schemas import Actor
from profiles.store import Store

__all__ = [
    "ApiKeyCreateRequest",
    "ApiKeyListRequest",
    "ApiKeyRevokeRequest",
    "ApiKeys",
    "ApiKeysReply",
]

_Name = Annotated[str, Field(max_length=100)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiKeyCreateRequest(_Request):
    label: str = Field(default="", max_length=100)  # what the key is for ("Open WebUI at home")
    current_password: str | None = Field(default=None, max_length=1000)  # the creator's own
    owner: _Name | None = None  # whose key (admins only)


class ApiKeyListRequest(_Request):
    owner: _Name | None = None


class ApiKeyRevokeRequest(_Request):
    """The key by its id (from the list) or by its first characters (as the list shows them)."""

    key: Annotated[int, Field(ge=1, le=2**31 - 1)] | Annotated[str, Field(min_length=6, max_length=100)]
    owner: _Name | None = None


class ApiKeysReply(BaseModel):
    keys: list[ApiKeyPublic]


class ApiKeys:
    """``limits``: the requests per minute each creation counts against (none: not checked)."""

    def __init__(
        self, store: Store, limiter: LoginLimiter | None = None, limits: UsageLimits | None = None
    ) -> None:
        self.store = store
        self._limiter = limiter
        self._limits = limits

    def create(self, actor: Actor, req: ApiKeyCreateRequest, session: str | None = None) -> ApiKeyCreated:
        """A new key for ``actor`` (the current password is needed; wrong ones are counted per login
        ``session``, the caller's own token)."""
        if self._limits is not None:
            self._limits.take(actor)
        confirm_current(
            self.store, self._limiter, actor, req.current_password, "create an API key", session=session
        )
        data = parse_request(ApiKeyCreate, {"label": req.label})
        return self.store.api_keys.create(actor, data, req.owner)

    def list(self, actor: Actor, req: ApiKeyListRequest) -> ApiKeysReply:
        return ApiKeysReply(keys=self.store.api_keys.list(actor, req.owner))

    def revoke(self, actor: Actor, req: ApiKeyRevokeRequest) -> ApiKeyPublic:
        return self.store.api_keys.revoke(actor, req.key, req.owner)
