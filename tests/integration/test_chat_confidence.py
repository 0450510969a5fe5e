"""A low-confidence chat decision asks one calibrating question; the answer moves the value in the
person's default profile and the decision is taken again. On the real service: MiniLM, the example
store holding the everyday example decisions, the default value-fit decider, a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from examples_fixtures import CachedMiniLM

from alignment.confidence import threshold_for
from alignment.models import Decision
from assistant.app import AppService
from assistant.app.schemas import ChatRequest
from assistant.backbones import BackbonePool
from assistant.cli.examples import import_paths
from assistant.decisions.chat import DEFAULT_PROFILE, QUESTION_LEAD
from assistant.decisions.service import DecisionService
from assistant.settings import Settings
from assistant.stores.chroma import chroma_settings
from assistant.stores.embedding import CachedEmbedder
from assistant.stores.examples import ExampleStore
from profiles.schemas import UserCreate
from profiles.seed import seed
from profiles.store import open_store

REPO = Path(__file__).resolve().parents[2]
EVERYDAY = REPO / "datasets" / "everyday" / "everyday_packs_input_output.json"
# a dilemma on one value whose options stand close on it (a low-confidence decision)
DILEMMA = "Should I visit my sick aunt or go to my friend's party?"


class _NoModelPool(BackbonePool):
    def get(self, name: str):  # type: ignore[no-untyped-def]
        raise AssertionError("no language model is needed")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppService]:
    import chromadb

    tmp = tmp_path_factory.mktemp("confidence")
    settings = Settings(data_dir=tmp)
    examples = ExampleStore(
        chromadb.PersistentClient(path=str(tmp / "chroma"), settings=chroma_settings()), CachedMiniLM()
    )
    import_paths(examples, [str(EVERYDAY)], progress=False)
    store = open_store(f"sqlite:///{tmp / 'app.sqlite3'}")
    root = store.users.actor(store.users.add(None, UserCreate(name="root", role="admin")).name)
    seed(store.attributes, root)
    store.users.add(root, UserCreate(name="pat", password="pat-password-1"))
    service = DecisionService(
        settings, _NoModelPool(settings), examples=examples, embedder=CachedEmbedder(examples.embed)
    )
    yield AppService(store, service, work_dir=tmp / "work")
    store.close()


def _say(app: AppService, actor, text: str, cid: int | None = None):  # type: ignore[no-untyped-def]
    updates = list(app.decisions.chat_stream(actor, ChatRequest(message=text, conversation_id=cid)))
    assert updates and updates[-1].done
    return updates[-1]


def test_a_low_confidence_decision_asks_and_the_answer_retakes_it(app: AppService) -> None:
    actor = app.store.users.actor("pat")
    said = _say(app, actor, "benevolence 0.8")
    assert said.kind == "values"
    first = _say(app, actor, DILEMMA, said.conversation_id)
    assert first.kind == "decision" and first.decision is not None
    confidence = first.decision.confidence
    assert confidence is not None and 0.0 <= confidence <= 1.0
    threshold = threshold_for("everyday")
    assert threshold is not None
    if confidence >= threshold:
        pytest.fail(f"the dilemma was meant to be a close call; confidence {confidence:.2f}")
    assert "I'm not sure of this one" in first.text and QUESTION_LEAD in first.text
    logged = app.store.log.get(actor, first.decision_id)
    assert logged.result is not None and logged.result["confidence"] == pytest.approx(confidence)
    before = app.store.profiles.load_target(actor, DEFAULT_PROFILE).values["benevolence"]

    # "B" answers the question (the option low on the value, or high: whichever contradicts)
    question_scores = _question_scores(app, first)
    low = min(range(2), key=lambda i: question_scores[i])
    answer = _say(app, actor, "AB"[low], first.conversation_id)
    assert answer.kind == "calibrated", answer.text
    after = app.store.profiles.load_target(actor, DEFAULT_PROFILE).values["benevolence"]
    assert after < 0.5 <= before
    assert answer.decision is not None and answer.decision_id != first.decision_id
    retaken = app.store.log.get(actor, answer.decision_id)
    assert retaken.request["target"]["benevolence"] == pytest.approx(after)
    assert answer.text.startswith(("**Still my advice", "**That changes my advice"))
    assert "in your profile and decided again" in answer.text


def _question_scores(app: AppService, update) -> list[float]:  # type: ignore[no-untyped-def]
    """The scores of the question the answer asked (it is asked the same way each time)."""
    entry = app.store.log.get(app.store.users.actor("pat"), update.decision_id)
    assert entry.result is not None
    question = app.decisions.chat_engine._question(entry.request, Decision.model_validate(entry.result))
    assert question is not None
    return question.scores
