"""The model work one request may ask for: each algorithm's worst case from its parameters, and the
decision service's refusal, before any model call, of a request (a comparison's columns summed) past
``Settings.request_max_model_tokens``."""

import threading

import pytest

from alignment.algorithms import create_algorithm
from alignment.backbone import GenerationRequest, GenerationResult, call_check, check_call
from alignment.errors import InputError
from alignment.fake import FakeBackbone
from assistant.backbones import BackbonePool
from assistant.decisions import cancel
from assistant.decisions.compare import MAX_COLUMNS, CompareColumn, CompareRequest, compare
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import Settings

HEAVY = {"n_aligned": 32, "n_opposite": 32, "max_tokens": 2048, "temperature": 1.5}


def test_each_algorithm_states_its_worst_case_model_tokens():
    assert create_algorithm("persona-vote").model_tokens(2, 1) == (5 + 2) * 3 * 200
    assert create_algorithm("persona-vote", **HEAVY).model_tokens(2, 1) == 64 * 3 * 2048
    assert create_algorithm("persona-vote", n_aligned=3, n_opposite=0, retries=0).model_tokens(4, 2) == 600
    assert create_algorithm("persona").model_tokens(2, 1) == 3 * 200
    assert create_algorithm("unaligned", max_tokens=2048, retries=10).model_tokens(2, 1) == 11 * 2048
    assert create_algorithm("icl", max_tokens=100, retries=0).model_tokens(2, 1) == 100
    # regression's answer grows with the choices and values it rates, up to its max_tokens
    assert create_algorithm("regression").model_tokens(3, 2) == 3 * (32 + (45 + 16) * 3)
    assert create_algorithm("regression", max_tokens=500, retries=1).model_tokens(3, 2) == 1000
    # likelihood reads log-probabilities (one token each), then writes a short justification
    assert create_algorithm("likelihood").model_tokens(3, 1) == 1 + 60
    assert create_algorithm("likelihood", debias="contrast", justify=False).model_tokens(3, 1) == 12
    assert create_algorithm("value-fit").model_tokens(5, 3) == 0
    assert create_algorithm("random").model_tokens(5, 3) == 0


def test_every_default_and_a_full_comparison_of_defaults_fit_the_default_budget():
    limit = Settings().request_max_model_tokens
    algorithms = ["unaligned", "persona", "persona-vote", "likelihood", "icl", "regression", "value-fit"]
    for name in algorithms:
        assert MAX_COLUMNS * create_algorithm(name).model_tokens(6, 5) <= limit, name
    assert create_algorithm("persona-vote", **HEAVY).model_tokens(2, 1) > limit


def _service(tmp_path, calls: list[str] | None = None) -> DecisionService:
    settings = Settings(data_dir=tmp_path)
    pool = BackbonePool(settings)

    def reply(request, k):
        if calls is not None:
            calls.append("call")
        return {"reasoning": "r", "choice": "A"}

    pool.add(FakeBackbone(reply, name="embedded"))
    return DecisionService(settings, pool)


def _decide(**options) -> DecideRequest:
    return DecideRequest(scenario="One kit.", choices=["a", "b"], target={"fairness": 0.9}, **options)


def test_a_heavy_decision_is_refused_before_any_model_call(tmp_path):
    calls: list[str] = []
    service = _service(tmp_path, calls)
    with pytest.raises(InputError, match=r"more than the 32,000 one request may ask for") as refused:
        service.decide(_decide(algorithm="persona-vote", params=HEAVY))
    assert "fewer samples (n_aligned, n_opposite)" in str(refused.value) and "--" not in str(refused.value)
    assert calls == []
    assert service.decide(_decide(algorithm="persona-vote")).algorithm == "persona-vote"
    assert len(calls) == 7
    # an admin's evaluation is not bounded by a person's budget
    calls.clear()
    heavy = {"n_aligned": 12, "n_opposite": 0, "max_tokens": 2048}
    assert service.decide(_decide(algorithm="persona-vote", params=heavy), budget=False).algorithm
    assert len(calls) == 12


def test_a_comparison_counts_its_columns_together(tmp_path):
    calls: list[str] = []
    service = _service(tmp_path, calls)
    # each column alone fits (7 x 3 x 1000 = 21,000), the six together do not
    column = CompareColumn(algorithm="persona-vote", params={"max_tokens": 1000}, target={"fairness": 0.9})
    service.check_budget([_decide(algorithm="persona-vote", params={"max_tokens": 1000})])
    request = CompareRequest(scenario="One kit.", choices=["a", "b"], columns=[column] * MAX_COLUMNS)
    with pytest.raises(InputError, match=r"126,000 tokens .* or fewer columns"):
        compare(service, request, lambda c: c.targets)
    assert calls == []
    defaults = CompareColumn(algorithm="persona-vote", target={"fairness": 0.9})
    request = CompareRequest(scenario="One kit.", choices=["a", "b"], columns=[defaults] * MAX_COLUMNS)
    result = compare(service, request, lambda c: c.targets)
    assert all(r.decision is not None for r in result.results) and len(calls) == 7 * MAX_COLUMNS


def test_a_smaller_budget_from_the_settings(tmp_path):
    service = _service(tmp_path)
    service.settings = Settings(data_dir=tmp_path, request_max_model_tokens=1000)
    with pytest.raises(InputError, match=r"4,200 tokens .* more than the 1,000"):
        service.decide(_decide(algorithm="persona-vote"))
    assert service.decide(_decide(algorithm="persona")).algorithm == "persona"


def test_a_waiting_call_whose_asker_left_never_starts():
    """A call checked when it asks and again when its turn at the model comes (``check_call``, which
    the llama.cpp and OpenAI backbones run once they hold the model): an asker that left while the
    call waited for the model stops it there."""
    gone = threading.Event()
    started: list[str] = []

    class Waiting(FakeBackbone):
        def execute(self, request: GenerationRequest) -> GenerationResult:
            gone.set()  # the asker leaves while this call waits for the model
            check_call()
            started.append("generated")
            return super().execute(request)

    backbone = cancel.checked(Waiting(lambda request, k: {"reasoning": "r", "choice": "A"}))
    request = GenerationRequest(messages=[{"role": "user", "content": "x"}])
    with cancel.asking(gone), pytest.raises(cancel.TurnCancelled):
        backbone.execute(request)
    assert started == [] and call_check.get() is None


def test_a_heavy_chat_turn_is_answered_with_the_refusal(app):
    """The chat door: the turn ends with the refusal, before its progress note or any model call."""
    from assistant.app.schemas import ChatRequest
    from tests.helpers.app import as_json

    situation = "Two people are hurt and I have one kit.\n- help the soldier\n- help the civilian"
    heavy = ChatRequest(message=situation, target={"fairness": 0.9}, algorithm="persona-vote", params=HEAVY)
    updates = list(app.decisions.chat_stream(app.actor("alice"), heavy))
    assert len(updates) == 1 and "Weighing" not in updates[0].text
    reply = as_json(updates[0])
    assert reply["kind"] == "error" and "one request may ask for" in reply["text"], reply
