"""The app's decisions and chat: one decision, a side-by-side comparison, a chat turn, the person's
conversations, and what a request may name."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from pydantic import ValidationError

from alignment.algorithms.registry import algorithm_names
from alignment.errors import InputError
from alignment.example_admin import ExampleAdmin
from alignment.models import AlignmentTarget, Scenario
from alignment.suggest import DOMAIN_WEIGHT, attribute_text, rank_attributes, rank_by_words, situation_text
from assistant.app.packs import pack_of, pack_title, seeded_names
from assistant.app.replies import (
    CompareReply,
    ConversationReply,
    ConversationsReply,
    DecisionReply,
    Deleted,
    OptionsReply,
)
from assistant.app.schemas import (
    ChatRequest,
    CompareAppRequest,
    ConversationRequest,
    DecideAppRequest,
    OwnerRequest,
)
from assistant.app.usage_limits import UsageLimits
from assistant.decisions.chat import AttributeSuggestion, ChatEngine, ChatUpdate, in_domain
from assistant.decisions.compare import CompareRequest, compare
from assistant.decisions.logged import decide_logged
from assistant.decisions.messages import for_people, validation_message
from assistant.decisions.service import DecisionService
from profiles.schemas import Actor
from profiles.store import Store

__all__ = ["SUGGESTIONS", "AppDecisions"]

SUGGESTIONS = 3  # attributes suggested to a person who has not said what they value


class AppDecisions:
    """Handed the store and the decision service (which describes targets with the store's
    attribute catalogue, ``AppService`` sees to it).

    ``limits``: each user's requests per minute (decide, compare, chat) and storage (conversations,
    profiles, decision log), checked before the model is asked or anything is stored; the same
    ``UsageLimits`` guards ``/v1`` (``align serve`` hands it over), so every door counts against one
    limit per user."""

    def __init__(
        self,
        store: Store,
        service: DecisionService,
        *,
        extraction_backbone: str | None = None,
        examples: Callable[[], ExampleAdmin | None] | None = None,
        limits: UsageLimits | None = None,
    ) -> None:
        self.store = store
        self.service = service
        settings = service.settings
        self.limits = limits or UsageLimits(
            store,
            per_minute=int(settings.api_requests_per_minute),
            quota_chars=int(settings.conversation_quota_chars),
        )
        self.chat_engine = ChatEngine(
            store,
            service,
            extraction_backbone,
            suggest=self.suggest_attributes,
            examples=examples,
            domain=settings.chat_domain,
        )

    def options(self) -> OptionsReply:
        settings = self.service.settings
        return OptionsReply(
            backbones=sorted(settings.backbones),
            algorithms=algorithm_names(),
            deciders=sorted(settings.deciders),
            default_backbone=settings.default_backbone,
            default_algorithm=settings.default_algorithm,
            default_decider=getattr(settings, "default_decider", None),
        )

    # -- decisions ------------------------------------------------------------------------

    def decide(self, actor: Actor, req: DecideAppRequest) -> DecisionReply:
        self.limits.take(actor)  # each decision is logged and costs model time
        self.limits.check_storage(actor)  # the decision log counts against the storage quota
        profile = self.store.profiles.load_target(actor, req.profile, req.owner) if req.profile else None
        logged = decide_logged(
            self.service,
            req.decide_request(),
            self.store.log.for_actor(actor),
            profile=profile,
            attributes=self.service.attributes,
        )
        return DecisionReply(
            decision=logged.decision, log_id=logged.log_id, include_prompts=req.include_prompts
        )

    def compare(self, actor: Actor, req: CompareAppRequest) -> CompareReply:
        try:
            Scenario(text=req.scenario, choices=req.choices)
        except ValidationError as exc:  # one sentence, never pydantic's report with its link
            raise InputError(validation_message(exc)) from None
        self.limits.take(actor)
        self.limits.check_storage(actor)
        known = set(self.service.attributes)
        columns = []
        for i, column in enumerate(req.columns):  # resolve profiles first: a missing one fails fast
            values: dict[str, float] = {}
            if column.profile:
                values.update(self.store.profiles.load_target(actor, column.profile).values)
            for name in column.target or {}:
                if known and name not in known:
                    raise InputError(f"column {i + 1}: unknown attribute {name!r} (see list_attributes)")
            values.update(column.target or {})
            if values:  # a value out of [0, 1] is refused before any column runs
                try:
                    AlignmentTarget(values=values)
                except ValidationError as exc:
                    raise InputError(f"column {i + 1}: {validation_message(exc)}") from None
            columns.append(column.model_copy(update={"target": values or None}))
        started = time.perf_counter()
        result = compare(
            self.service,
            CompareRequest(scenario=req.scenario, choices=req.choices, columns=columns, seed=req.seed),
            lambda column: column.target,
        )
        for r in result.results:
            if r.error:
                r.error = for_people(r.error)
        return CompareReply(comparison=result, seconds=round(time.perf_counter() - started, 3))

    # -- chat -----------------------------------------------------------------------------

    def chat_stream(self, actor: Actor, req: ChatRequest) -> Iterator[ChatUpdate]:
        """One chat turn, refused before anything is stored when the actor is over their requests per
        minute or their storage quota (the Chat tab and the ``chat`` endpoint both come here). What the
        turn may store is reserved against the quota until its updates end, so turns sent at once
        cannot together pass it."""
        self.limits.take(actor)
        reservation = self.limits.reserve(actor, len(req.message))
        try:
            updates = self.chat_engine.respond(actor, req)
        except BaseException:
            reservation.release()
            raise
        return reservation.hold(updates)

    def chat(self, actor: Actor, req: ChatRequest) -> ChatUpdate:
        updates = list(self.chat_stream(actor, req))
        return updates[-1]

    def conversations(self, actor: Actor, req: OwnerRequest) -> ConversationsReply:
        return ConversationsReply(conversations=self.store.conversations.list(actor, req.owner))

    def conversation(self, actor: Actor, req: ConversationRequest) -> ConversationReply:
        conversation = self.store.conversations.get(actor, req.id)
        messages = self.store.conversations.messages(actor, conversation.id)
        return ConversationReply(**conversation.model_dump(), messages=messages)

    def delete_conversation(self, actor: Actor, req: ConversationRequest) -> Deleted:
        """Delete one of the actor's conversations and its messages (an admin: anyone's); the decisions
        it led to stay in the decision log. This is how a person frees their conversation storage."""
        conversation = self.store.conversations.get(actor, req.id)
        self.store.conversations.delete(actor, conversation.id)
        return Deleted(deleted=conversation.title or f"conversation {conversation.id}")

    def suggest_attributes(
        self, scenario: str, options: list[str], domain: str | None = None
    ) -> list[AttributeSuggestion]:
        """The SUGGESTIONS seed-pack attributes most related to a dilemma: MiniLM similarity of the
        scenario and options to each attribute's label, description, high and low texts, plus the
        dilemma's closeness to the stored examples of the attribute's domain (shared words when the
        embedder cannot be loaded). ``domain``: only that domain's attributes (a chat's: everyday
        unless the person or an admin names another); None: every domain's."""
        seeded = seeded_names()
        candidates = [
            a
            for a in self.store.attributes.list(kind="scalar")
            if a.name in seeded and (domain is None or in_domain(a.domain, domain))
        ]
        if not candidates:
            return []
        texts = {
            a.name: attribute_text(a.name, a.label or "", a.description or "", a.high or "", a.low or "")
            for a in candidates
        }
        query = situation_text(scenario, options)
        fit = self._domain_fit(scenario, options, {a.domain for a in candidates if a.domain})
        boosts = {a.name: DOMAIN_WEIGHT * fit.get(a.domain or "", 0.0) for a in candidates}
        try:
            ranked = self._rank_by_embedding(query, texts, boosts)
        except Exception:  # no example store, or its model cannot load: still suggest something
            ranked = rank_by_words(query, texts, k=SUGGESTIONS)
        by_name = {a.name: a for a in candidates}
        return [
            AttributeSuggestion(
                name=name,
                label=by_name[name].label or name,
                description=by_name[name].description or "",
                pack=pack_of(name),
                pack_title=pack_title(pack_of(name)),
                similarity=round(similarity, 4),
            )
            for name, similarity in ranked
        ]

    def _rank_by_embedding(
        self, query: str, texts: dict[str, str], boosts: dict[str, float]
    ) -> list[tuple[str, float]]:
        """The decision service's embedder (it caches: the attributes' texts are embedded once)."""
        embedder = self.service.embedder
        if embedder is None:
            raise LookupError("no embedder")
        names = list(texts)
        vectors = embedder.embed([query, *(texts[n] for n in names)])
        return rank_attributes(
            vectors[0], dict(zip(names, vectors[1:], strict=True)), k=SUGGESTIONS, boosts=boosts
        )

    def _domain_fit(self, scenario: str, options: list[str], domains: set[str]) -> dict[str, float]:
        """Per domain, the cosine of the dilemma to its closest stored example decision; empty
        without an example store, or when it cannot answer (the ranking then uses similarity alone)."""
        examples = self.service.examples
        if examples is None:
            return {}
        fit: dict[str, float] = {}
        try:
            for domain in sorted(domains):
                hits = examples.retrieve(
                    Scenario(text=scenario, choices=options, domain=domain), None, k=1, scope="domain"
                )
                fit[domain] = max(0.0, hits[0].similarity or 0.0) if hits else 0.0
        except Exception:  # no store, its model cannot load, a dilemma it cannot take: no domain fit
            return {}
        return fit
