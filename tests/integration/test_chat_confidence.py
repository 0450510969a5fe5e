"""A low-confidence chat decision says so and asks one calibrating question; the answer moves the
value in the person's default profile and the decision is taken again. On the real service: MiniLM,
an example store holding the everyday example decisions and three stored decisions on a value an
admin defined (honesty), the default value-fit decider (no language model), a SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alignment.confidence import threshold_for
from alignment.models import Decision
from assistant.app import AppService
from assistant.app.schemas import ChatRequest
from assistant.decisions.chat import DEFAULT_PROFILE, QUESTION_LEAD, UNSURE
from profiles.schemas import Actor, AttributeCreate, UserCreate
from profiles.store import Store
from tests.helpers.examples import value_fit_app

REPO = Path(__file__).resolve().parents[2]
EVERYDAY = REPO / "datasets" / "everyday"
HONESTY_RECORDS = (4, 16, 28)  # of everyday_novel: the cashier's change, the tax return, the CV
# the value's stored decisions are on other topics and its two readers disagree: a low-confidence case
LOW = "My friend asks me to lie to his wife about where he was last night. Should I cover for him or refuse?"
# one its stored decisions bear on, read the same way by both readers
CLEAR = "I found a wallet with 300 dollars and the owner's ID: keep it or return it?"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppService]:

    tmp = tmp_path_factory.mktemp("confidence")
    novel = json.loads((EVERYDAY / "everyday_novel_input_output.json").read_text())
    folder = tmp / "everyday"  # files in a folder named everyday are of the everyday domain
    folder.mkdir()
    honesty = folder / "honesty_input_output.json"
    honesty.write_text(json.dumps([novel[i] for i in HONESTY_RECORDS]))
    definition = next(
        a
        for a in json.loads((REPO / "tests" / "fixtures" / "novel_attributes.json").read_text())
        if a["name"] == "honesty"
    )

    def honesty_and_people(store: Store, root: Actor) -> None:
        # the admin's own definition of honesty replaces the everyday pack's (its examples are not stored)
        store.attributes.upsert(
            root,
            [AttributeCreate(**{k: v for k, v in definition.items() if k in AttributeCreate.model_fields})],
        )
        for name in ("pat", "sam"):
            store.users.add(root, UserCreate(name=name, password=f"{name}-password-1"))

    app = value_fit_app(
        tmp, [EVERYDAY / "everyday_packs_input_output.json", honesty], prepare=honesty_and_people
    )
    yield app
    app.store.close()


def _say(app: AppService, actor: Actor, text: str, cid: int | None = None) -> Any:
    updates = list(app.decisions.chat_stream(actor, ChatRequest(message=text, conversation_id=cid)))
    assert updates and updates[-1].done and sum(u.done for u in updates) == 1
    return updates[-1]


def _decide(app: AppService, actor: Actor, dilemma: str) -> Any:
    said = _say(app, actor, "honesty 0.8")
    assert said.kind == "values", said.text
    first = _say(app, actor, dilemma, said.conversation_id)
    assert first.kind == "decision" and first.decision is not None, first.text
    confidence = first.decision.confidence
    assert confidence is not None and 0.0 <= confidence <= 1.0
    logged = app.store.log.get(actor, first.decision_id)
    assert logged.result is not None and logged.result["confidence"] == pytest.approx(confidence)
    assert f"{round(100 * confidence)} in 100" in first.text  # the details block gives it
    return first


def test_a_clear_decision_asks_nothing(app: AppService) -> None:
    first = _decide(app, app.store.users.actor("sam"), CLEAR)
    threshold = threshold_for("everyday")
    assert threshold is not None and first.decision.confidence >= threshold
    assert UNSURE not in first.text and QUESTION_LEAD not in first.text


def test_a_low_confidence_decision_asks_and_the_answer_retakes_it(app: AppService) -> None:
    actor = app.store.users.actor("pat")
    first = _decide(app, actor, LOW)
    threshold = threshold_for("everyday")
    assert threshold is not None and first.decision.confidence < threshold
    assert UNSURE in first.text and QUESTION_LEAD in first.text
    before = app.store.profiles.load_target(actor, DEFAULT_PROFILE).values["honesty"]
    # the question is one of the value's stored decisions; answering its low option contradicts 0.8
    entry = app.store.log.get(actor, first.decision_id)
    question = app.decisions.chat_engine._question(entry.request, Decision.model_validate(entry.result))
    assert question is not None and question.value == "honesty"
    assert question.text.split()[0] in first.text
    low = min(range(2), key=lambda k: question.scores[k])
    answer = _say(app, actor, "the first" if low == 0 else "the second", first.conversation_id)
    assert answer.kind == "calibrated", answer.text
    after = app.store.profiles.load_target(actor, DEFAULT_PROFILE).values["honesty"]
    assert after < 0.5 <= before
    assert answer.decision is not None and answer.decision_id != first.decision_id
    retaken = app.store.log.get(actor, answer.decision_id)
    assert retaken.request["target"]["honesty"] == pytest.approx(after)
    assert answer.decision.target["honesty"] == pytest.approx(after)
    assert answer.text.startswith(("**Still my advice", "**That changes my advice"))
    assert "in your profile and decided again" in answer.text
    # the next message is read as usual
    assert _say(app, actor, "why?", answer.conversation_id).kind == "why"
