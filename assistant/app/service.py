"""The app facade: what the UI handlers and the API endpoints both call.

Every method takes the acting user (an ``Actor``) and a plain JSON object, and returns one. All
checks live here or below (the stores check ownership): a handler only finds the user and turns
an ``AlignError`` into a message.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from alignment.algorithms.registry import algorithm_names
from alignment.datasets import load_file
from alignment.errors import AlignError, InputError, NotFound, PermissionDenied
from alignment.models import Example, Scenario
from alignment.prompts import index_of_label
from alignment.suggest import attribute_text, rank_attributes, rank_by_words, situation_text
from assistant.app.calibration import AppCalibration
from assistant.app.evaluation import AppEvaluation
from assistant.app.handout import Handout
from assistant.app.login_limit import LoginLimiter
from assistant.app.messages import for_people
from assistant.app.packs import pack_of, pack_title, seeded_names
from assistant.app.payload_limits import PayloadLimits, measured
from assistant.app.schemas import (
    MAX_ID,
    AddExampleRequest,
    AddUserRequest,
    AttributeRequest,
    CalibrateRequest,
    ChatRequest,
    CompareAppRequest,
    DecideAppRequest,
    EvaluateRequest,
    ExampleSearchRequest,
    FeedbackRequest,
    ImportProfilesRequest,
    OwnerRequest,
    ProfileCreateRequest,
    ProfileDeleteRequest,
    ProfileNameRequest,
    ProfileUpdateRequest,
    SetPasswordRequest,
    SetRoleRequest,
    parse_request,
)
from assistant.app.uploads import Uploads
from assistant.decisions.chat import AttributeSuggestion, ChatEngine, ChatUpdate
from assistant.decisions.compare import CompareRequest, compare
from assistant.decisions.logged import decide_logged
from assistant.decisions.service import DecideRequest, DecisionService
from profiles.schemas import (
    Actor,
    AttributeCreate,
    ProfileCreate,
    ProfileUpdate,
    UserCreate,
)
from profiles.store import Store

__all__ = ["LOCAL_USER", "SUGGESTIONS", "AppService", "Progress"]

LOCAL_USER = "local"
Progress = Callable[[int, int, str], None]  # (done, total, what)
SUGGESTIONS = 3  # attributes suggested to a person who has not said what they value


def _json(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json"))


def _require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"user {actor.name!r} may not {what}; only an admin may")


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
        examples: Any | None = None,
        extraction_backbone: str | None = None,
        handout: Handout | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.work_dir = work_dir
        self.datasets_dir = datasets_dir
        # the files replies give (charts, zips, exports): each readable by its owner and admins only
        self.handout = handout or Handout(work_dir / "handout")
        self.uploads = Uploads(work_dir / "uploads", refuse=self.handout.holds)
        self.evaluation = AppEvaluation(
            service,
            runs_dir=work_dir / "evaluations",
            datasets_dir=datasets_dir,
            limit_cap=eval_limit_cap,
            handout=self.handout,
        )
        self.local_mode = local_mode
        self.eval_limit_cap = eval_limit_cap
        self._examples = examples
        self.chat_engine = ChatEngine(store, service, extraction_backbone, suggest=self.suggest_attributes)
        self.calibration = AppCalibration(service.settings)
        # every payload is measured before it is parsed (``measured``): texts, lists, numbers, nesting
        self.payload_limits = PayloadLimits.from_settings(service.settings)
        settings = service.settings
        self.login_limiter = LoginLimiter(
            settings.login_max_failures,
            settings.login_window_s,
            settings.login_cooldown_s,
            max_cooldown_s=settings.login_max_cooldown_s,
        )
        # the login sessions (``assistant.web.session_tokens.SessionTokens``), set by ``align serve``
        self.sessions: Any | None = None
        self.refresh_attributes()

    # -- who is acting ----------------------------------------------------------------------

    def actor(self, username: str | None) -> Actor:
        """The logged-in user, or the local admin in local mode; anything else is refused."""
        if username:
            try:
                return self.store.users.actor(username)
            except NotFound:
                raise PermissionDenied(f"user {username!r} no longer exists; log in again") from None
        if self.local_mode:
            return self.store.users.ensure(LOCAL_USER, role="admin")
        raise PermissionDenied("log in first: this server requires a user name and password")

    def authenticate(self, username: str, password: str, address: str | None = None) -> bool:
        """For the login page: a known user with a password that matches.

        Rate-limited per (user name, client address) (``LoginLimiter``): while that pair cools down
        this raises ``TooManyLogins`` without checking the password. An unknown name costs the same
        password check as a known one (a dummy hash), so timing tells nothing about which exist.
        """
        self.login_limiter.check(username, address)
        if self.store.users.authenticate(username, password) is None:
            self.login_limiter.failed(username, address)
            return False
        self.login_limiter.succeeded(username, address)
        return True

    @measured
    def whoami(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        return {"name": actor.name, "role": actor.role, "local_mode": self.local_mode}

    @measured
    def options(self, actor: Actor | None = None, payload: Any = None) -> dict[str, Any]:
        """What a request may name: backbones, algorithms, deciders, defaults."""
        settings = self.service.settings
        return {
            "backbones": sorted(settings.backbones),
            "algorithms": algorithm_names(),
            "deciders": sorted(settings.deciders),
            "default_backbone": settings.default_backbone,
            "default_algorithm": settings.default_algorithm,
            # what a request naming no algorithm gets: the default decider, if the settings name one
            "default_decider": getattr(settings, "default_decider", None),
        }

    ATTRIBUTES_TTL_S = 2.0

    def refresh_attributes(self) -> None:
        """The decision service describes targets with the stored definitions (re-read after edits)."""
        self.service.attributes = self.store.attributes.prompt_attributes()
        self._attributes_read_at = time.monotonic()

    def current_attributes(self) -> dict[str, Any]:
        """The stored definitions, at most ATTRIBUTES_TTL_S old: an admin's edit on another replica
        (they share the database) reaches this one within seconds, without a restart."""
        if time.monotonic() - self._attributes_read_at > self.ATTRIBUTES_TTL_S:
            self.refresh_attributes()
        return self.service.attributes

    # -- decisions --------------------------------------------------------------------------

    @measured
    def decide(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(DecideAppRequest, payload)
        profile = self.store.profiles.load_target(actor, req.profile, req.owner) if req.profile else None
        logged = decide_logged(
            self.service,
            DecideRequest(
                scenario=req.scenario,
                choices=req.choices,
                target=req.targets or None,
                algorithm=req.algorithm,
                decider=req.decider,
                backbone=req.backbone,
                params=req.params,
                seed=req.seed,
            ),
            self.store.log.for_actor(actor),
            profile=profile,
            attributes=self.current_attributes(),
        )
        exclude = set() if req.include_prompts else {"prompts"}
        return {**logged.decision.model_dump(mode="json", exclude=exclude), "log_id": logged.log_id}

    @measured
    def compare(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(CompareAppRequest, payload)
        try:
            Scenario(text=req.scenario, choices=req.choices)
        except ValueError as exc:
            raise InputError(str(exc).splitlines()[-1].strip()) from None
        known = set(self.current_attributes())
        columns = []
        for i, column in enumerate(req.columns):  # resolve profiles first: a missing one fails fast
            values: dict[str, float] = {}
            if column.profile:
                values.update(self.store.profiles.load_target(actor, column.profile).values)
            for name in column.targets or {}:
                if known and name not in known:
                    raise InputError(f"column {i + 1}: unknown attribute {name!r} (see list_attributes)")
            values.update(column.targets or {})
            columns.append(column.model_copy(update={"targets": values or None}))
        started = time.perf_counter()
        result = compare(
            self.service,
            CompareRequest(scenario=req.scenario, choices=req.choices, columns=columns, seed=req.seed),
            lambda column: column.targets,
        )
        data = result.model_dump(mode="json")
        for r in data["results"]:
            if r.get("error"):
                r["error"] = for_people(r["error"])
            if r["decision"] is not None:
                r["decision"].pop("prompts", None)
        data["seconds"] = round(time.perf_counter() - started, 3)
        return data

    # -- chat -------------------------------------------------------------------------------

    @measured
    def chat_stream(self, actor: Actor, payload: Any) -> Iterator[ChatUpdate]:
        return self.chat_engine.respond(actor, parse_request(ChatRequest, payload))

    @measured
    def chat(self, actor: Actor, payload: Any) -> dict[str, Any]:
        updates = list(self.chat_stream(actor, payload))
        return updates[-1].model_dump(mode="json")

    def suggest_attributes(self, scenario: str, options: list[str]) -> list[AttributeSuggestion]:
        """The SUGGESTIONS seed-pack attributes most related to a dilemma: MiniLM similarity of the
        scenario and options to each attribute's label, description, high and low texts (shared
        words when the embedder cannot be loaded)."""
        seeded = seeded_names()
        candidates = [a for a in self.store.attributes.list(kind="scalar") if a.name in seeded]
        if not candidates:
            return []
        texts = {
            a.name: attribute_text(a.name, a.label or "", a.description or "", a.high or "", a.low or "")
            for a in candidates
        }
        query = situation_text(scenario, options)
        try:
            ranked = self._rank_by_embedding(query, texts)
        except Exception:  # no example store, or its model cannot load: still suggest something
            ranked = rank_by_words(query, texts, k=SUGGESTIONS)
        by_name = {a.name: a for a in candidates}
        out = []
        for name, similarity in ranked:
            a = by_name[name]
            out.append(
                AttributeSuggestion(
                    name=name,
                    label=a.label or name,
                    description=a.description or "",
                    pack=pack_of(name),
                    pack_title=pack_title(pack_of(name)),
                    similarity=round(similarity, 4),
                )
            )
        return out

    def _rank_by_embedding(self, query: str, texts: dict[str, str]) -> list[tuple[str, float]]:
        """The decision service's embedder (it caches: the attributes' texts are embedded once)."""
        embedder = self.service.embedder
        if embedder is None:
            raise LookupError("no embedder")
        names = list(texts)
        vectors = embedder.embed([query, *(texts[n] for n in names)])
        return rank_attributes(vectors[0], dict(zip(names, vectors[1:], strict=True)), k=SUGGESTIONS)

    @measured
    def list_conversations(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        req = parse_request(OwnerRequest, payload)
        return {"conversations": [_json(c) for c in self.store.conversations.list(actor, req.owner)]}

    @measured
    def get_conversation(self, actor: Actor, payload: Any) -> dict[str, Any]:
        conversation_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(conversation_id, int) or not 1 <= conversation_id <= MAX_ID:
            raise InputError('give the conversation as {"id": N} (see list_conversations)')
        conversation = self.store.conversations.get(actor, payload["id"])
        messages = self.store.conversations.messages(actor, conversation.id)
        return {**_json(conversation), "messages": [_json(m) for m in messages]}

    # -- feedback and calibration -----------------------------------------------------------

    @measured
    def feedback(self, actor: Actor, payload: Any) -> dict[str, Any]:
        """Agree or disagree with one of your decisions; becomes your personal example."""
        from assistant.decisions.feedback import give_feedback

        req = parse_request(FeedbackRequest, payload)
        would = req.would_choose
        if isinstance(would, str):
            would = index_of_label(would) if would.strip() else None
        examples = self._examples
        if examples is None and self.service.examples is not None:
            examples = getattr(self.service.examples, "store", self.service.examples)
        return give_feedback(
            self.store,
            examples,
            actor,
            req.decision_id,
            agree=req.agree,
            would_choose=would,
            profile=req.profile,
        )

    @measured
    def calibrate_next(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        """The next most informative dilemma given your answers so far, and the estimate so far."""
        return self.calibration.next(parse_request(CalibrateRequest, payload))

    @measured
    def calibrate_save(self, actor: Actor, payload: Any) -> dict[str, Any]:
        """Save the estimate from your answers as your profile (default name 'calibrated')."""
        return self.calibration.save(self.store, actor, parse_request(CalibrateRequest, payload))

    # -- profiles ---------------------------------------------------------------------------

    @measured
    def list_profiles(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        req = parse_request(OwnerRequest, payload)
        rows = self.store.profiles.list(actor, owner=req.owner, all_users=req.all_users)
        return {"profiles": [_json(p) for p in rows]}

    @measured
    def get_profile(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(ProfileNameRequest, payload)
        return _json(self.store.profiles.get(actor, req.name, req.owner))

    @measured
    def create_profile(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(ProfileCreateRequest, payload)
        data = parse_request(ProfileCreate, req.model_dump(exclude={"owner"}))
        return _json(self.store.profiles.create(actor, data, req.owner))

    @measured
    def update_profile(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(ProfileUpdateRequest, payload)
        change = parse_request(ProfileUpdate, req.model_dump(exclude={"name", "owner"}))
        return _json(self.store.profiles.update(actor, req.name, change, req.owner))

    @measured
    def delete_profile(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(ProfileDeleteRequest, payload)
        self.store.profiles.delete(actor, req.name, req.owner, req.expected_version)
        return {"deleted": req.name}

    @measured
    def export_profiles(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        names = (payload or {}).get("names") if isinstance(payload, dict) else None
        owner = (payload or {}).get("owner") if isinstance(payload, dict) else None
        return _json(self.store.profiles.export(actor, names or None, owner))

    @measured
    def import_profiles(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(ImportProfilesRequest, payload)
        rows = self.store.profiles.import_bundle(actor, req.bundle, req.owner, replace=req.replace)
        return {"imported": [_json(p) for p in rows]}

    # -- attributes and users (admin) -------------------------------------------------------

    @measured
    def list_attributes(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        domain = payload.get("domain") if isinstance(payload, dict) else None
        return {"attributes": [_json(a) for a in self.store.attributes.list(domain=domain)]}

    @measured
    def upsert_attribute(self, actor: Actor, payload: Any) -> dict[str, Any]:
        _require_admin(actor, "change attribute definitions")
        req = parse_request(AttributeRequest, payload)
        data = parse_request(AttributeCreate, req.attribute)
        counts = self.store.attributes.upsert(actor, [data])
        self.refresh_attributes()
        return {**counts, "attribute": _json(self.store.attributes.get(data.name))}

    @measured
    def list_users(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        return {"users": [_json(u) for u in self.store.users.list(actor)]}

    @measured
    def add_user(self, actor: Actor, payload: Any) -> dict[str, Any]:
        _require_admin(actor, "add users")
        req = parse_request(AddUserRequest, payload)
        data = parse_request(UserCreate, req.model_dump())
        return _json(self.store.users.add(actor, data))

    @measured
    def set_password(self, actor: Actor, payload: Any, keep_session: str | None = None) -> dict[str, Any]:
        """Set a password; it ends that user's login sessions, except ``keep_session`` (the caller's
        own session token) when users change their own password."""
        req = parse_request(SetPasswordRequest, payload)
        self.store.users.set_password(actor, req.name, req.password)
        if req.name == actor.name and keep_session and self.sessions is not None:
            self.sessions.renew(keep_session, actor.name)
        return {"name": req.name, "password_set": True}

    @measured
    def set_role(self, actor: Actor, payload: Any) -> dict[str, Any]:
        req = parse_request(SetRoleRequest, payload)
        self.store.users.set_role(actor, req.name, req.role)
        return {"name": req.name, "role": req.role}

    # -- example decisions (admin) ----------------------------------------------------------

    def _example_store(self, actor: Actor) -> Any:
        _require_admin(actor, "manage example decisions")
        if self._examples is not None:
            return self._examples
        examples = self.service.examples
        if examples is None:
            raise InputError("no example store is configured")
        return examples.store if hasattr(examples, "store") else examples

    @measured
    def search_examples(self, actor: Actor, payload: Any = None) -> dict[str, Any]:
        store = self._example_store(actor)
        req = parse_request(ExampleSearchRequest, payload)
        if req.query.strip():
            hits = store.search(
                req.query, k=req.k, domain=req.domain, attributes=[req.attribute] if req.attribute else None
            )
            rows = [{**_json(h.example), "similarity": round(h.similarity, 4)} for h in hits]
        else:
            rows = [
                _json(e) for e in store.list_examples(domain=req.domain, attribute=req.attribute, limit=req.k)
            ]
        return {"examples": rows, "total": store.count()}

    @measured
    def get_example(self, actor: Actor, payload: Any) -> dict[str, Any]:
        store = self._example_store(actor)
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            raise InputError('give the example as {"id": "..."} (see search_examples)')
        return _json(store.get(payload["id"]))

    @measured
    def add_example(self, actor: Actor, payload: Any) -> dict[str, Any]:
        store = self._example_store(actor)
        req = parse_request(AddExampleRequest, payload)
        try:
            scenario = Scenario(text=req.text, choices=req.choices)
        except ValueError as exc:
            raise InputError(str(exc).splitlines()[-1].strip()) from None
        if req.scores and len(req.scores) != len(req.choices):
            raise InputError(f"give one scores object per choice ({len(req.choices)}), or none")
        if req.chosen is not None and not 0 <= req.chosen < len(req.choices):
            raise InputError(f"chosen must be the index of a choice, 0..{len(req.choices) - 1}")
        example = Example(
            id=req.id or f"manual:{uuid.uuid4().hex[:12]}",
            text=scenario.text,
            choices=scenario.choices,
            scores=req.scores,
            chosen=req.chosen,
            domain=req.domain,
            source="manual",
            scenario_id=req.id,
        )
        report = store.add_examples([example])
        if not report.added:
            raise InputError(f"an example with id {example.id!r} already exists; choose another id")
        return _json(example)

    @measured
    def delete_example(self, actor: Actor, payload: Any) -> dict[str, Any]:
        store = self._example_store(actor)
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            raise InputError('give the example as {"id": "..."} (see search_examples)')
        return {"deleted": store.delete([payload["id"]])}

    def import_examples(
        self, actor: Actor, path: Path, *, domain: str | None = None, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Import one ALIGN input_output file (checked first, then added with progress)."""
        store = self._example_store(actor)
        records = load_file(path, domain=domain)
        total = len(records)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total, "examples")

        report = store.add_records(records, progress=step)
        return {
            "file": path.name,
            "records": total,
            "added": len(report.added),
            "present": len(report.present),
            "total": store.count(),
        }

    # -- evaluation -------------------------------------------------------------------------

    def dataset_files(self) -> list[str]:
        """Dataset files offered by the Evaluate tab (relative to the datasets directory)."""
        return self.evaluation.dataset_files()

    def dataset_path(self, name: str) -> Path:
        """A dataset file named relative to the datasets directory; it must lie inside it."""
        return self.evaluation.dataset_path(name)

    @measured
    def evaluate(
        self, actor: Actor, payload: Any, *, uploads: Sequence[Path] = (), progress: bool = False
    ) -> dict[str, Any]:
        """A small evaluation of dataset files (and the request's upload): summary, chart and zip links."""
        req = parse_request(EvaluateRequest, payload)
        return self.evaluation.run(
            actor,
            files=req.files,
            uploads=uploads,
            algorithms=req.algorithms,
            backbone=req.backbone,
            limit=req.limit,
            progress=progress,
        )

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
