"""Example decisions in a Chroma collection (embedded PersistentClient or a ``chroma run`` server).

The store is handed its chromadb client (``assistant.stores.chroma.chroma_client(settings)`` builds the
configured one) and its embedder (``assistant.stores.embedding.MiniLMEmbedder``); it implements the
core's ``alignment.example_admin.ExampleAdmin`` and the retrieval the decision service needs.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from alignment.datasets import DatasetRecord
from alignment.embedding import Embedder
from alignment.errors import AlignError, InputError, NotFound, StoreUnavailable
from alignment.example_admin import AddReport, ExampleHit
from alignment.examples import mmr_select, normalize_for_match
from alignment.feedback import PERSONAL_DOMAIN
from alignment.models import AlignmentTarget, Example, Scenario
from assistant.stores.chroma import ChromaEmbedding, chroma_client
from assistant.stores.lazy import OnFirstUse

if TYPE_CHECKING:
    from assistant.settings import Settings

__all__ = [
    "DEFAULT_COLLECTION",
    "HOLDOUTS",
    "SCOPES",
    "ExampleStore",
    "LazyExampleStore",
    "open_example_store",
    "text_key",
]

DEFAULT_COLLECTION = "align_examples"
NEAR_DUPLICATE_SIMILARITY = 0.97  # cosine similarity at or above which two scenarios are "the same"
PERSONAL_MIN_SIMILARITY = 0.5  # a user's own example is shown first when at least this similar
HOLDOUTS = ("scenario", "attribute", "group")  # what retrieval keeps out (see ExampleStore.retrieve)
SCOPES = ("target", "domain")  # which examples an algorithm learns from (its ``example_scope``)


def text_key(text: str) -> str:
    return hashlib.sha256(normalize_for_match(text).encode("utf-8")).hexdigest()[:32]


def _metadata(example: Example) -> dict[str, Any]:
    attributes = sorted({a for s in example.scores for a in s})
    meta: dict[str, Any] = {
        "domain": example.domain or "generic",
        "source": example.source or "",
        "scenario_id": example.scenario_id or "",
        "chosen": -1 if example.chosen is None else example.chosen,
        "text_key": text_key(example.text),
        "n_choices": len(example.choices),
        "payload": json.dumps({"choices": example.choices, "scores": example.scores}, ensure_ascii=False),
    }
    if attributes:
        meta["attributes"] = attributes
    if example.owner:
        meta["owner"] = example.owner
    return meta


def _example(
    id_: str, document: str | None, meta: dict[str, Any], similarity: float | None = None
) -> Example:
    payload = json.loads(meta["payload"])
    chosen = int(meta.get("chosen", -1))
    return Example(
        id=id_,
        text=document or "",
        choices=payload["choices"],
        scores=payload["scores"],
        chosen=None if chosen < 0 else chosen,
        domain=meta.get("domain") or None,
        source=meta.get("source") or None,
        scenario_id=meta.get("scenario_id") or None,
        owner=meta.get("owner") or None,
        similarity=similarity,
    )


def _and(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _or(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


class ExampleStore:
    """Example decisions over one Chroma collection. Handed its client and embedding function."""

    # ``client``: a chromadb ``ClientAPI``, left untyped: its numpy-typed signatures refuse the plain
    # lists of floats that it takes
    def __init__(self, client: Any, embedder: Embedder, *, collection: str = DEFAULT_COLLECTION):
        self.client = client
        self.embedder = embedder
        self.collection = client.get_or_create_collection(
            collection,
            embedding_function=ChromaEmbedding(embedder, str(getattr(embedder, "path", "all-MiniLM-L6-v2"))),
            configuration={"hnsw": {"space": "cosine"}},
        )

    # -- writing -----------------------------------------------------------------------------

    def add_examples(
        self, examples: Sequence[Example], *, progress: Callable[[int], None] | None = None
    ) -> AddReport:
        """Add the examples not stored yet (by id). All or nothing: a failure removes what it added."""
        report = AddReport()
        unique: dict[str, Example] = {}
        for example in examples:
            if example.id in unique:
                report.present.append(example.id)
                continue
            unique[example.id] = example
        ids = list(unique)
        existing: set[str] = set()
        batch = max(1, min(1000, self._max_batch()))
        for start in range(0, len(ids), batch):
            existing.update(self.collection.get(ids=ids[start : start + batch], include=[])["ids"])
        new = [unique[i] for i in ids if i not in existing]
        report.present.extend(i for i in ids if i in existing)
        if progress is not None and existing:
            progress(len(existing))
        added: list[str] = []
        try:
            for start in range(0, len(new), 256):
                chunk = new[start : start + 256]
                embeddings = self.embed([e.text for e in chunk])
                self.collection.add(
                    ids=[e.id for e in chunk],
                    documents=[e.text for e in chunk],
                    embeddings=embeddings,
                    metadatas=[_metadata(e) for e in chunk],
                )
                added.extend(e.id for e in chunk)
                if progress is not None:
                    progress(len(chunk))
        except BaseException:
            if added:
                self.collection.delete(ids=added)
            raise
        report.added = added
        report.per_domain = dict(Counter(unique[i].domain or "generic" for i in added))
        return report

    def add_records(
        self, records: Sequence[DatasetRecord], *, progress: Callable[[int], None] | None = None
    ) -> AddReport:
        return self.add_examples([r.to_example() for r in records], progress=progress)

    def delete(self, ids: Sequence[str]) -> list[str]:
        """Delete examples by id; NotFound (and nothing deleted) if any id is unknown."""
        found = set(self.collection.get(ids=list(ids), include=[])["ids"])
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no example with id {', '.join(missing)}; see `align examples list`")
        self.collection.delete(ids=list(ids))
        return list(ids)

    def delete_source(self, source: str) -> list[str]:
        ids = self.collection.get(where={"source": source}, include=[])["ids"]
        if not ids:
            raise NotFound(f"no examples from source {source!r}; see `align examples list`")
        self.collection.delete(ids=ids)
        return list(ids)

    # -- reading -----------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.collection.count())

    def get(self, example_id: str) -> Example:
        got = self.collection.get(ids=[example_id], include=["documents", "metadatas"])
        if not got["ids"]:
            raise NotFound(f"no example with id {example_id!r}; see `align examples list`")
        return _example(got["ids"][0], got["documents"][0], dict(got["metadatas"][0]))

    def list_examples(
        self,
        *,
        domain: str | None = None,
        source: str | None = None,
        attribute: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[Example]:
        where = self._where(domain=domain, attributes=[attribute] if attribute else None, source=source)
        got = self.collection.get(where=where, limit=limit, offset=offset, include=["documents", "metadatas"])
        docs, metas = got["documents"] or [], got["metadatas"] or []
        return [_example(i, d, dict(m)) for i, d, m in zip(got["ids"], docs, metas, strict=True)]

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of examples by domain and by source."""
        got = self.collection.get(include=["metadatas"])
        metas = got["metadatas"] or []
        return {
            "domain": dict(Counter(str(m.get("domain")) for m in metas)),
            "source": dict(Counter(str(m.get("source")) for m in metas)),
        }

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-vector embeddings of ``texts`` (the store's embedder)."""
        return self.embedder.embed(texts)

    def search(
        self,
        text: str,
        *,
        k: int = 3,
        domain: str | None = None,
        attributes: Sequence[str] | None = None,
        exclude_attributes: Sequence[str] | None = None,
        exclude_scenario_id: str | None = None,
        exclude_near_duplicates: bool = True,
        one_per_text: bool = True,
        mmr_lambda: float | None = None,
        fetch_k: int | None = None,
        near_duplicate_similarity: float = NEAR_DUPLICATE_SIMILARITY,
        personal_of: str | None = None,
    ) -> list[ExampleHit]:
        """Top-k examples by embedding similarity to ``text``.

        Filters: ``domain``; ``attributes`` (an example must score at least one of them);
        ``exclude_attributes`` (an example must score none of them: leave-one-attribute/group-out);
        leave-one-out: never an example of ``exclude_scenario_id``, and (unless turned off) never
        one whose text is the query's text (same normalised text, or cosine similarity at or above
        ``near_duplicate_similarity``). A text stored from several files is returned once, unless
        ``one_per_text`` is off (then once per distinct choices and scores). ``mmr_lambda`` in
        [0, 1] re-ranks ``fetch_k`` candidates by maximal marginal relevance for diversity.
        Personal examples (a user's feedback) are never returned, except with ``personal_of``: then
        only that user's personal examples.
        """
        if k < 1:
            raise InputError("k must be at least 1")
        if domain == PERSONAL_DOMAIN and personal_of is None:
            # people's own feedback is read for its owner alone (personal_of), never by naming its domain
            raise InputError(
                f"{PERSONAL_DOMAIN!r} is not a domain of dilemmas: it holds each person's own feedback, "
                "which only they are advised from; name another domain, or none"
            )
        if mmr_lambda is not None and not 0.0 <= mmr_lambda <= 1.0:
            raise InputError("mmr_lambda must be in [0, 1] (1 = most similar, 0 = most diverse)")
        total = self.count()
        if total == 0:
            return []
        where = self._where(
            domain=domain,
            attributes=attributes,
            exclude_attributes=exclude_attributes,
            exclude_scenario_id=exclude_scenario_id,
            exclude_text=text if exclude_near_duplicates else None,
            personal_of=personal_of,
        )
        want = fetch_k or (max(4 * k, k + 20) if mmr_lambda is not None else k + 10)
        query = self.embed([text])[0]
        result = self.collection.query(
            query_embeddings=[query],
            n_results=min(want, total),
            where=where,
            include=["documents", "metadatas", "distances", "embeddings"],
        )
        ids = result["ids"][0]
        docs = (result["documents"] or [[]])[0]
        metas = (result["metadatas"] or [[]])[0]
        dists = (result["distances"] or [[]])[0]
        embs = (result["embeddings"] if result["embeddings"] is not None else [[]])[0]
        candidates: list[tuple[ExampleHit, list[float]]] = []
        seen_texts: set[str] = set()
        for i, id_ in enumerate(ids):
            similarity = 1.0 - float(dists[i])
            if exclude_near_duplicates and similarity >= near_duplicate_similarity:
                continue
            key = str(metas[i].get("text_key"))
            if not one_per_text:
                key += "\x00" + str(metas[i].get("payload"))
            if key in seen_texts:  # the same scenario stored from two files: show it once
                continue
            seen_texts.add(key)
            vector = [float(x) for x in embs[i]] if len(embs) > i else []
            candidates.append(
                (
                    ExampleHit(
                        example=_example(id_, docs[i], dict(metas[i]), similarity), similarity=similarity
                    ),
                    vector,
                )
            )
        if mmr_lambda is not None and candidates:
            order = mmr_select(query, [v for _, v in candidates], k, mmr_lambda)
            return [candidates[i][0] for i in order]
        return [hit for hit, _ in candidates[:k]]

    def retrieve(
        self,
        scenario: Scenario,
        target: AlignmentTarget | None,
        *,
        k: int = 3,
        mmr_lambda: float | None = None,
        owner: str | None = None,
        holdout: str = "scenario",
        scope: str = "target",
    ) -> list[Example]:
        """Examples for one decision: same domain (if the scenario has one), never the scenario
        itself. ``scope`` "target": they score at least one of the target's attributes; "domain":
        any example of the domain (an algorithm that learns from related attributes or groups).

        ``holdout`` (what an evaluation keeps out): "scenario" (the default) never an example of the
        same scenario id nor with the same text (near-duplicates); "attribute" the same, and never
        an example that scores any of the target's attributes (an attribute an admin just created);
        "group" never an example that scores any of the target's attributes, while the same text
        is allowed (the same survey question answered by other groups).

        With ``owner`` (the acting user's name), that user's own personal examples (their
        feedback) similar to the scenario come first; no other user's personal example is ever
        returned. Each example carries its ``similarity`` to the scenario."""
        if holdout not in HOLDOUTS:
            raise InputError(f"holdout {holdout!r}: use one of {', '.join(HOLDOUTS)}")
        if scope not in SCOPES:
            raise InputError(f"example scope {scope!r}: use one of {', '.join(SCOPES)}")
        targeted = list(target.values) if target else None
        excluded = targeted if holdout in ("attribute", "group") else None
        personal: list[Example] = []
        if owner:
            mine = self.search(
                scenario.text,
                k=k,
                exclude_attributes=excluded,
                exclude_scenario_id=scenario.id,
                exclude_near_duplicates=False,  # the user corrected this very situation: show it
                personal_of=owner,
            )
            personal = [h.example for h in mine if h.similarity >= PERSONAL_MIN_SIMILARITY]
        if len(personal) >= k:
            return personal[:k]
        hits = self.search(
            scenario.text,
            k=k,
            domain=scenario.domain,
            attributes=targeted if scope == "target" else None,
            exclude_attributes=excluded,
            exclude_scenario_id=scenario.id,
            exclude_near_duplicates=holdout != "group",
            one_per_text=holdout != "group",  # the same question answered by several other groups
            mmr_lambda=mmr_lambda,
        )
        return [*personal, *(h.example for h in hits)][:k]

    # -- helpers -----------------------------------------------------------------------------

    def _max_batch(self) -> int:
        try:
            return int(self.client.get_max_batch_size())
        except Exception:
            return 1000

    @staticmethod
    def _where(
        *,
        domain: str | None = None,
        attributes: Sequence[str] | None = None,
        source: str | None = None,
        exclude_attributes: Sequence[str] | None = None,
        exclude_scenario_id: str | None = None,
        exclude_text: str | None = None,
        personal_of: str | None = None,
    ) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if personal_of is not None:
            clauses += [{"domain": PERSONAL_DOMAIN}, {"owner": personal_of}]
            domain = attributes = None
        elif domain:
            clauses.append({"domain": domain})
        else:
            clauses.append({"domain": {"$ne": PERSONAL_DOMAIN}})
        if source:
            clauses.append({"source": source})
        attr_clause = _or([{"attributes": {"$contains": a}} for a in attributes or []])
        if attr_clause is not None:
            clauses.append(attr_clause)
        clauses += [{"attributes": {"$not_contains": a}} for a in exclude_attributes or []]
        if exclude_scenario_id:
            clauses.append({"scenario_id": {"$ne": exclude_scenario_id}})
        if exclude_text:
            clauses.append({"text_key": {"$ne": text_key(exclude_text)}})
        return _and(clauses)


def open_example_store(
    settings: Settings, embedder: Embedder, *, collection: str = DEFAULT_COLLECTION
) -> ExampleStore:
    """The store the settings describe (embedded under data_dir, or the Chroma server)."""
    return ExampleStore(chroma_client(settings), embedder, collection=collection)


class LazyExampleStore:
    """Opens the configured store on first retrieval (so decisions that need none never touch it)."""

    def __init__(
        self, settings: Settings, embedder: Embedder, *, collection: str = DEFAULT_COLLECTION
    ) -> None:
        self._settings = settings
        self._store = OnFirstUse(lambda: open_example_store(settings, embedder, collection=collection))

    @property
    def store(self) -> ExampleStore:
        return self._store.get()

    def retrieve(self, scenario: Scenario, target: AlignmentTarget | None, **options: Any) -> list[Example]:
        """The store's examples (``options``: those of ``ExampleStore.retrieve``); a store that stops
        answering fails clearly (no silent fallback)."""
        try:
            return self.store.retrieve(scenario, target, **options)
        except AlignError:
            raise
        except Exception as exc:
            where = (
                f"the Chroma server at {self._settings.chroma_host}:{self._settings.chroma_port}"
                if self._settings.chroma_host
                else "the embedded example store"
            )
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise StoreUnavailable(
                f"{where} did not answer ({type(exc).__name__}: {first}); this algorithm needs "
                "example decisions: start the store and retry, or choose an algorithm without "
                "examples (persona, persona-vote, random)"
            ) from None
