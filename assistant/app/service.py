"""The app facade: what the UI handlers and the API endpoints both reach, split by area.

``AppService`` only composes: who is acting (login, local mode), and one part per area, each small and
typed (it takes its request schema and returns a pydantic model):

- ``decisions`` (``AppDecisions``): decide, compare, chat, conversations, options;
- ``profiles`` (``AppProfiles``); ``admin`` (``AppAdmin``: attribute definitions and users);
- ``examples`` (``AppExamples``, admins only); ``evaluation`` (``AppEvaluation``);
- ``calibration`` (``AppCalibration``) and ``feedback`` (``AppFeedback``);
- ``api_keys`` (``ApiKeys``: a person's keys for the OpenAI-compatible API).

All checks live in the parts or below (the stores check ownership). The edge (``ui/api.py`` for the
named endpoints, ``ui/`` handlers for the UI) measures and parses the caller's JSON with ``parse`` and
serialises the answer.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from alignment.datasets import load_file
from alignment.errors import AlignError, NotFound, PermissionDenied
from alignment.example_admin import ExampleAdmin
from assistant.app.admin import AppAdmin, Sessions
from assistant.app.api_keys import ApiKeys
from assistant.app.calibration import AppCalibration
from assistant.app.decisions import SUGGESTIONS, AppDecisions
from assistant.app.device_tokens import DeviceTokens
from assistant.app.evaluation import AppEvaluation
from assistant.app.examples import AppExamples, Progress
from assistant.app.feedback import AppFeedback
from assistant.app.handout import Handout
from assistant.app.login_limit import AddressLimiter, LoginLimiter, PasswordChecks
from assistant.app.payload_limits import PayloadLimits, check_payload
from assistant.app.profiles import AppProfiles
from assistant.app.replies import WhoAmI
from assistant.app.schemas import parse_request
from assistant.app.uploads import Uploads
from assistant.decisions.service import DecisionService
from profiles.schemas import Actor
from profiles.store import Store
from profiles.users import LOCAL_USER

__all__ = ["SUGGESTIONS", "AppService", "Progress"]

R = TypeVar("R", bound=BaseModel)


class AppService:
    """Handed the store, the decision service and where files go; built once by ``align serve``.

    ``local_mode``: no login (loopback only, no user has a password): every request acts as the
    local admin ``local``. Otherwise a request without a user name is refused.
    """

    def __init__(
        self,
        store: Store,
        service: DecisionService,
        *,
        work_dir: Path,
        datasets_dir: Path | None = None,
        local_mode: bool = False,
        eval_limit_cap: int = 10,
        examples: ExampleAdmin | None = None,
        extraction_backbone: str | None = None,
        handout: Handout | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.work_dir = work_dir
        self.local_mode = local_mode
        self._examples = examples
        settings = service.settings
        # the files replies give (charts, zips, exports): each readable by its owner and admins only
        self.handout = handout or Handout(work_dir / "handout")
        self.uploads = Uploads(work_dir / "uploads", refuse=self.handout.holds)
        # every payload is measured before it is parsed (``parse``): texts, lists, numbers, nesting
        self.payload_limits = PayloadLimits.from_settings(settings)
        self.login_limiter = LoginLimiter.from_settings(settings)
        # failures per address whatever the names, and password checks at once (login_limit.py)
        self.address_limiter = AddressLimiter.from_settings(settings)
        self.password_checks = PasswordChecks.from_settings(settings)
        # browsers where a person logged in are limited apart from their address (device_tokens.py)
        self.devices = DeviceTokens.from_file(work_dir / "device-key")
        # decisions describe targets with this store's definitions, cached, re-read after an edit
        service.use_catalogue(store.catalogue)
        self.decisions = AppDecisions(
            store, service, extraction_backbone=extraction_backbone, examples=self.example_store
        )
        self.profiles = AppProfiles(  # one storage quota for all a user stores
            store, limits=self.decisions.limits, max_profiles=int(settings.max_profiles_per_user)
        )
        self.admin = AppAdmin(store, limiter=self.login_limiter)
        self.examples = AppExamples(self.example_store)
        self.evaluation = AppEvaluation(
            service,
            runs_dir=work_dir / "evaluations",
            datasets_dir=datasets_dir,
            limit_cap=eval_limit_cap,
            handout=self.handout,
            max_decisions=settings.eval_max_decisions,
            max_running=settings.eval_max_running,
        )
        self.calibration = AppCalibration(  # the same limits as any other profile and request
            store, self.example_store, profiles=self.profiles, limits=self.decisions.limits
        )
        self.feedback = AppFeedback(store, self.example_store, limits=self.decisions.limits)
        self.api_keys = ApiKeys(store, self.login_limiter, limits=self.decisions.limits)

    @property
    def sessions(self) -> Sessions | None:
        """The login sessions (``assistant.web.session_tokens.SessionTokens``), set by ``align serve``."""
        return self.admin.sessions

    @sessions.setter
    def sessions(self, value: Sessions | None) -> None:
        self.admin.sessions = value

    @property
    def local_user(self) -> str | None:
        """Who acts when nobody logs in (local mode), else None."""
        return LOCAL_USER if self.local_mode else None

    def example_store(self) -> ExampleAdmin | None:
        """The example store (the one handed in, else the decision service's), or None."""
        if self._examples is not None:
            return self._examples
        examples = self.service.examples
        if examples is None:
            return None
        opened = getattr(examples, "store", examples)  # a lazily opened store opens here
        return opened if isinstance(opened, ExampleAdmin) else None

    # -- the edge's one parser ------------------------------------------------------------

    def parse(self, model: type[R], payload: Any, *, actor: Actor | None = None, what: str = "") -> R:
        """The caller's JSON as ``model``: measured first (``PayloadLimits``: a refused request
        leaves one short line, never its payload), then validated (an InputError naming every wrong
        field)."""
        check_payload(
            payload, self.payload_limits, what=what or model.__name__, user=actor.name if actor else None
        )
        return parse_request(model, payload)

    # -- who is acting --------------------------------------------------------------------

    def actor(self, username: str | None) -> Actor:
        """The logged-in user, or the local admin in local mode (``UserStore.acting``); anything
        else is refused."""
        try:
            acting = self.store.users.acting(username, local=self.local_mode)
        except NotFound:
            raise PermissionDenied(f"user {username!r} no longer exists; log in again") from None
        if acting is None:
            raise PermissionDenied("log in first: this server requires a user name and password")
        return acting

    def authenticate(
        self, username: str, password: str, address: str | None = None, device: str | None = None
    ) -> bool:
        """For the login page: a known user with a password that matches.

        Rate-limited per (user name, client address) (``LoginLimiter``): while that pair cools down
        this raises ``TooManyLogins`` without checking the password. A browser that carries a valid
        device token for this user name (``device``, ``DeviceTokens``: it logged in as them since their
        password or role last changed) is limited per (user name, device) instead, so failures of
        others behind the same address do not lock it out. Any other attempt is also limited per
        address whatever the name (``AddressLimiter``, ``TooManyFromAddress``), so making up a new
        name for each attempt gains nothing. An unknown name costs the same password check as a known
        one (a dummy hash), so timing tells nothing about which exist; at most
        ``login_max_concurrent_checks`` checks run at once; a login past that waits a little for one
        (``login_check_wait_s``, a bounded number waiting), else ``LoginsBusy``.
        """
        known = self.devices.verify(device, self.store.users.session_stamp) if device else None
        exempt = known is not None and known.user == username
        key = f"device:{known.device_id}" if exempt and known is not None else address
        self.login_limiter.check(username, key)
        if not exempt:
            self.address_limiter.check(address)
        with self.password_checks.slot():
            actor = self.store.users.authenticate(username, password)
        if actor is None:
            self.login_limiter.failed(username, key)
            if not exempt:
                self.address_limiter.failed(address)
            return False
        self.login_limiter.succeeded(username, key)
        return True

    def whoami(self, actor: Actor) -> WhoAmI:
        return WhoAmI(name=actor.name, role=actor.role, local_mode=self.local_mode)

    # -- files ----------------------------------------------------------------------------

    def upload(self, actor: Actor, source: Path, *, dataset: bool = True) -> AbstractContextManager[Path]:
        """``with app.upload(actor, path) as file:`` an uploaded file (checked as an ALIGN dataset
        unless ``dataset=False``), deleted when the block ends."""
        return self.uploads.received(actor.name, source, check=load_file if dataset else None)

    def may_read(self, username: str | None, owner: str) -> bool:
        """Whether the logged-in ``username`` may read a file handed out to ``owner``."""
        try:
            actor = self.actor(username)
        except AlignError:
            return False
        return actor.name == owner or actor.is_admin
