"""The app's administration: attribute definitions (read by anyone, changed by admins) and users.

The stores check the role; a password or role change ends that user's other sessions (the store
moves the user's session stamp). Changing one's own password needs the current one; a password change
(one's own, or an admin's reset of another user's) also revokes that user's API keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from alignment.errors import PermissionDenied
from assistant.app.login_limit import LoginLimiter, TooManyLogins
from assistant.app.replies import AttributeSaved, AttributesReply, PasswordSet, RoleSet, UsersReply
from assistant.app.schemas import (
    AddUserRequest,
    AttributeRequest,
    DomainRequest,
    SetPasswordRequest,
    SetRoleRequest,
    parse_request,
)
from profiles.schemas import Actor, AttributeCreate, AttributePublic, UserCreate, UserPublic
from profiles.store import Store
from profiles.users import WrongPassword

__all__ = [
    "CURRENT_PASSWORD",
    "AppAdmin",
    "Sessions",
    "confirm_current",
    "counting_wrong_current",
    "current_password_key",
    "require_admin",
]

# wrong current passwords (a password change, a new API key) are counted per user and login session
# under this "address" (one shared count where there is no session: local mode, the command line)
CURRENT_PASSWORD = "(password change)"


def current_password_key(session: str | None) -> str:
    """Where wrong current passwords are counted: per login session, so a stolen session that keeps
    guessing locks itself, not the owner's own sessions (a new session needs the password)."""
    if not session:
        return CURRENT_PASSWORD
    return f"{CURRENT_PASSWORD} {hashlib.sha256(session.encode('utf-8')).hexdigest()[:24]}"


def _too_many(exc: TooManyLogins) -> PermissionDenied:
    return PermissionDenied(
        f"too many wrong current passwords; wait {max(1, round(exc.wait_s))} s, then try again"
    )


@contextmanager
def counting_wrong_current(limiter: LoginLimiter | None, name: str, session: str | None) -> Iterator[None]:
    """Around a check of ``name``'s current password: refused while too many wrong ones from this
    login ``session`` cool down; a ``WrongPassword`` inside counts as a failed login of that user in
    that session (a stolen session cannot guess on and on, nor lock out the owner's other sessions)."""
    key = current_password_key(session)
    if limiter is not None:
        try:
            limiter.check(name, key)
        except TooManyLogins as exc:
            raise _too_many(exc) from None
    try:
        yield
    except WrongPassword:
        if limiter is not None:
            limiter.failed(name, key)
        raise


def confirm_current(
    store: Store,
    limiter: LoginLimiter | None,
    actor: Actor,
    current: str | None,
    doing: str,
    session: str | None = None,
) -> None:
    """The actor's current password before ``doing``, counted as ``counting_wrong_current`` says."""
    with counting_wrong_current(limiter, actor.name, session):
        store.users.confirm_password(actor, current, doing)


class Sessions(Protocol):
    """The login sessions (``assistant.web.session_tokens.SessionTokens``, set by ``align serve``)."""

    def renew(self, token: str | None, name: str) -> bool:
        """Keep ``token`` (a session of ``name``) valid after ``name``'s own password change."""
        ...


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"user {actor.name!r} may not {what}; only an admin may")


class AppAdmin:
    """Attribute definitions (a saved one reaches decisions through the store's catalogue) and
    users; ``sessions`` (set by ``align serve``) renews the caller's own session on a password change."""

    def __init__(
        self,
        store: Store,
        limiter: LoginLimiter | None = None,
    ) -> None:
        self.store = store
        self._limiter = limiter  # wrong current passwords, counted as failed logins of that user
        self.sessions: Sessions | None = None

    def scalar_attributes(self) -> list[AttributePublic]:
        """The scalar attribute definitions (the sliders of the UI); anyone may read them."""
        return self.store.attributes.list(kind="scalar")

    def attributes(self, actor: Actor, req: DomainRequest) -> AttributesReply:
        return AttributesReply(attributes=self.store.attributes.list(domain=req.domain))

    def upsert_attribute(self, actor: Actor, req: AttributeRequest) -> AttributeSaved:
        require_admin(actor, "change attribute definitions")
        data = parse_request(AttributeCreate, req.attribute)
        counts = self.store.attributes.upsert(actor, [data])  # the catalogue reads it again
        return AttributeSaved(**counts, attribute=self.store.attributes.get(data.name))

    def users(self, actor: Actor) -> UsersReply:
        return UsersReply(users=self.store.users.list(actor))

    def add_user(self, actor: Actor, req: AddUserRequest) -> UserPublic:
        require_admin(actor, "add users")
        return self.store.users.add(actor, parse_request(UserCreate, req.model_dump()))

    def set_password(
        self, actor: Actor, req: SetPasswordRequest, keep_session: str | None = None
    ) -> PasswordSet:
        """Change one's own password (the current one is needed; ``keep_session``, the caller's own
        session token, stays valid, the others end) or reset another user's (admins: all that
        user's sessions end and all their API keys are revoked). The reply says so in words."""
        own = req.name == actor.name
        # only one's own change checks a current password (an admin's reset of another has none)
        with counting_wrong_current(self._limiter if own else None, actor.name, keep_session):
            done = self.store.users.set_password(actor, req.name, req.password, current=req.current_password)
        if not done.reset:
            sessions = self.sessions
            kept = bool(keep_session and sessions is not None and sessions.renew(keep_session, actor.name))
            where = "your other login sessions have ended" if kept else "your login sessions have ended"
            keys = done.api_keys_revoked
            revoked = (
                f" Your {keys} API key{'s were' if keys != 1 else ' was'} revoked; create new ones "
                "in the Profiles tab (API keys) for your chat apps."
                if keys
                else ""
            )
            return PasswordSet(
                name=req.name,
                api_keys_revoked=keys,
                message=f"Your password was changed; {where}.{revoked}",
            )
        keys = done.api_keys_revoked
        revoked = (
            "they had no active API key"
            if keys == 0
            else f"their {keys} API key{'s were' if keys != 1 else ' was'} revoked"
        )
        return PasswordSet(
            name=req.name,
            reset=True,
            api_keys_revoked=keys,
            message=f"Password of {req.name} reset: all their login sessions have ended and {revoked}. "
            "They log in with the new password and create new API keys for their chat apps.",
        )

    def set_role(self, actor: Actor, req: SetRoleRequest) -> RoleSet:
        self.store.users.set_role(actor, req.name, req.role)
        return RoleSet(name=req.name, role=req.role)
