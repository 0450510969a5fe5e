"""Feedback end to end on the real stores (SQLite, embedded Chroma, the real MiniLM embedder):
stored, retrieved by icl for its owner and never for another user, and it updates a calibration.

The backbone is a fake: what is under test is what reaches the prompt, not the model's answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
import pytest

from alignment.calibration import CalibrationModel, Posterior, calibration_dilemmas
from alignment.errors import InputError, NotFound
from alignment.fake import FakeBackbone
from alignment.feedback import PERSONAL_REASON
from assistant.backbones import BackbonePool
from assistant.decisions.calibration import save_estimate
from assistant.decisions.feedback import give_feedback
from assistant.decisions.logged import decide_logged
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import Settings
from assistant.stores.chroma import chroma_settings
from assistant.stores.examples import ExampleStore
from assistant.stores.seed_data import load_triage_records
from profiles.schemas import DecisionLogCreate, UserCreate
from profiles.seed import seed
from profiles.store import open_store
from tests.helpers.examples import CachedMiniLM

SCENARIO = (
    "Two hikers are hurt after a rock fall and you carry one stretcher. The first is a guide who caused "
    "the fall by ignoring the closure sign; the second is a student who followed the rules."
)
CHOICES = ["Carry the guide first", "Carry the student first"]
TARGET = {"fairness": 0.9}


@pytest.fixture
def world(tmp_path: Path) -> Any:
    store = open_store(f"sqlite:///{tmp_path / 'fb.sqlite3'}")
    root = store.users.actor(store.users.add(None, UserCreate(name="root", role="admin")).name)
    seed(store.attributes, root)
    for name in ("alice", "bob"):
        store.users.add(root, UserCreate(name=name))
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=chroma_settings())
    examples = ExampleStore(client, CachedMiniLM())
    examples.add_records([r for r in load_triage_records(None) if "fairness" in str(r.to_example().scores)])
    backbone = FakeBackbone(lambda request, count: {"reasoning": "first one", "choice": "A"}, name="embedded")
    pool = BackbonePool(Settings(data_dir=tmp_path))
    pool.add(backbone)
    service = DecisionService(
        Settings(data_dir=tmp_path), pool, store.attributes.prompt_attributes(), examples=examples
    )
    yield {
        "store": store,
        "examples": examples,
        "service": service,
        "backbone": backbone,
        "root": root,
        "alice": store.users.actor("alice"),
        "bob": store.users.actor("bob"),
    }
    store.close()


def _decide(w: Any, who: str) -> Any:
    return decide_logged(
        w["service"],
        DecideRequest(scenario=SCENARIO, choices=CHOICES, target=TARGET, algorithm="icl", seed=1),
        w["store"].log.for_actor(w[who]),
        attributes=w["store"].attributes.prompt_attributes(),
    )


def _prompt(w: Any) -> str:
    return "\n".join(m.content for m in w["backbone"].requests[-1].messages)


def test_a_corrected_decision_is_retrieved_for_its_owner_and_never_for_another_user(world: Any) -> None:
    w = world
    first = _decide(w, "alice")
    assert first.decision.choice_index == 0
    assert not any(e.owner for e in first.decision.examples)
    assert PERSONAL_REASON not in _prompt(w)

    out = give_feedback(w["store"], w["examples"], w["alice"], first.log_id, agree=False, would_choose=1)
    assert out.chosen == CHOICES[1] and out.example_id == f"personal:alice:{first.log_id}"
    assert out.calibration.updated is False  # alice has no calibrated profile
    stored = w["store"].feedback.list(w["alice"])
    assert [(f["decision_id"], f["agree"], f["would_choose"]) for f in stored] == [(first.log_id, False, 1)]

    again = _decide(w, "alice")  # the same situation again: her own answer comes first
    mine = [e for e in again.decision.examples if e.owner]
    assert [e.id for e in mine] == [out.example_id] and mine[0].chosen == 1
    assert again.decision.examples[0].id == out.example_id
    prompt = _prompt(w)
    assert f"Answer: (B) {CHOICES[1]}. Reason: {PERSONAL_REASON}" in prompt
    assert again.decision.extra["example_answers"][0] == {
        "id": out.example_id,
        "answer": "B",
        "reason": PERSONAL_REASON,
    }

    bobs = _decide(w, "bob")  # bob never sees alice's personal example
    assert not any(e.owner for e in bobs.decision.examples)
    assert PERSONAL_REASON not in _prompt(w) and CHOICES[1] + ". Reason" not in _prompt(w)
    from alignment.models import AlignmentTarget, Scenario

    scenario = Scenario(text=SCENARIO, choices=CHOICES)
    target = AlignmentTarget(values=TARGET)
    for owner in (None, "bob", "root"):
        got = w["examples"].retrieve(scenario, target, k=10, owner=owner)
        assert all(e.owner is None for e in got), owner
    assert all(h.example.owner is None for h in w["examples"].search(SCENARIO, k=50))
    with pytest.raises(InputError, match="not a domain of dilemmas"):  # nobody's feedback by its domain
        w["examples"].search(SCENARIO, k=50, domain="personal")
    with pytest.raises(InputError, match="not a domain of dilemmas"):
        w["examples"].retrieve(
            Scenario(text=SCENARIO, choices=CHOICES, domain="personal"), target, owner="bob"
        )
    assert w["examples"].get(out.example_id).owner == "alice"

    # feedback only on one's own decisions, for admins too; a missing decision looks the same
    for who in ("bob", "root"):
        with pytest.raises(NotFound, match=r"no decision \d+ of yours"):
            give_feedback(w["store"], w["examples"], w[who], first.log_id, agree=True)
    with pytest.raises(NotFound, match="no decision 9999 of yours"):
        give_feedback(w["store"], w["examples"], w["alice"], 9999, agree=True)
    assert len(w["store"].feedback.list(w["alice"])) == 1 and w["store"].feedback.list(w["bob"]) == []

    # changing one's mind replaces the personal example (one per decision)
    agreed = give_feedback(w["store"], w["examples"], w["alice"], first.log_id, agree=True)
    assert agreed.chosen == CHOICES[0] and w["examples"].get(out.example_id).chosen == 0
    third = _decide(w, "alice")
    assert [e.chosen for e in third.decision.examples if e.owner] == [0]


def test_bad_feedback_is_refused_and_nothing_is_stored(world: Any) -> None:
    w = world
    first = _decide(w, "alice")
    for kwargs, fragment in (
        ({"agree": True, "would_choose": 1}, "give --disagree"),
        ({"agree": False, "would_choose": 0}, "give --agree"),
        ({"agree": False, "would_choose": 5}, "has 2 options"),
    ):
        with pytest.raises(InputError, match=fragment):
            give_feedback(w["store"], w["examples"], w["alice"], first.log_id, **kwargs)
    with pytest.raises(NotFound, match="not calibrated"):
        give_feedback(w["store"], w["examples"], w["alice"], first.log_id, agree=True, profile="nope")
    assert w["store"].feedback.list(w["alice"]) == []
    assert w["examples"].counts()["domain"].get("personal") is None


def test_feedback_on_a_scored_decision_updates_the_calibrated_profile(world: Any) -> None:
    w = world
    store, alice = w["store"], w["alice"]
    attributes = ["fairness"]
    dilemmas = calibration_dilemmas(load_triage_records(None), attributes)[:3]
    post = Posterior.prior(attributes, CalibrationModel(seed=0))
    from alignment.calibration import Answer

    assert len(dilemmas) >= 2
    for d in dilemmas:  # each answer picks the least fair option: a low-fairness person
        low = min(range(len(d.choices)), key=lambda i: d.scores[i]["fairness"])
        post = post.observe(Answer(dilemma_id=d.id, scores=d.scores, choice=low))
    saved = save_estimate(store, alice, "calibrated", post.estimate())
    store.calibrations.save(alice, "calibrated", attributes, [a.model_dump() for a in post.answers], 0)
    before = saved.targets["fairness"]
    assert before < 0.5

    # a regression-style decision: per-option attribute estimates in scores[i].attributes
    result = {
        "choice_index": 0,
        "choice": CHOICES[0],
        "scores": [
            {"index": 0, "choice": CHOICES[0], "attributes": {"fairness": 0.1}},
            {"index": 1, "choice": CHOICES[1], "attributes": {"fairness": 0.95}},
        ],
    }
    log_id = store.log.record(
        alice,
        DecisionLogCreate(
            status="ok",
            request={"scenario": SCENARIO, "choices": CHOICES},
            result=result,
            algorithm="regression",
            profile_name="calibrated",
        ),
    )
    out = give_feedback(store, w["examples"], alice, log_id, agree=False, would_choose=1)
    cal = out.calibration
    assert cal.updated and cal.profile == "calibrated" and cal.answers == len(dilemmas) + 1
    after = store.profiles.get(alice, "calibrated")
    assert after.version == saved.version + 1 and after.targets["fairness"] > before
    assert len(store.calibrations.get(alice, "calibrated").answers) == len(dilemmas) + 1
    assert w["examples"].get(out.example_id).scores == [{"fairness": 0.1}, {"fairness": 0.95}]
    # feedback again on the same decision replaces its answer instead of counting it twice
    again = give_feedback(store, w["examples"], alice, log_id, agree=False, would_choose=1)
    assert again.calibration.answers == len(dilemmas) + 1
