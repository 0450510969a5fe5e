"""The model work one request may ask for: each algorithm's worst case from its parameters (every
call's prompt read and answer written), the decision service's refusal, before any model call, of a
request (a comparison's columns summed) past ``Settings.request_max_model_tokens``, and a comparison's
columns taking one call at a time on a backbone that serves one."""

import threading
import time

import pytest

from alignment.algorithms import create_algorithm
from alignment.algorithms.base import CONTEXT_TOKENS, EXAMPLE_PROMPT_TOKENS
from alignment.backbone import GenerationRequest, GenerationResult, call_check, check_call
from alignment.errors import InputError
from alignment.fake import FakeBackbone
from assistant.backbones import BackbonePool
from assistant.decisions import cancel
from assistant.decisions.compare import MAX_COLUMNS, CompareColumn, CompareRequest, compare, lanes
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import BackboneConfig, Settings

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


def test_each_algorithm_states_its_model_calls_and_reads_each_prompt():
    assert create_algorithm("persona-vote").model_calls(2, 1) == 21
    assert create_algorithm("persona").model_calls(2, 1) == 3
    assert create_algorithm("regression", retries=0).model_calls(3, 2) == 1
    # likelihood: a read per order (twice for "contrast"), and the justification
    assert create_algorithm("likelihood").model_calls(3, 1) == 2
    assert create_algorithm("likelihood", debias="contrast").model_calls(26, 1) == 52 + 1
    assert (
        create_algorithm("value-fit").model_calls(5, 3) == 0
        and create_algorithm("random").model_calls(5, 3) == 0
    )
    # each call reads the prompt; icl and regression show k examples in it; a prompt fills one context
    assert create_algorithm("persona", retries=0).model_work(2, 1, 500) == 500 + 200
    assert (
        create_algorithm("icl", retries=0, k=3).model_work(2, 1, 500) == 500 + 3 * EXAMPLE_PROMPT_TOKENS + 200
    )
    assert create_algorithm("icl", retries=0, k=20).model_work(2, 1, 500) == CONTEXT_TOKENS + 200
    assert create_algorithm("value-fit").model_work(5, 3, 5000) == 0


def _dilemma(words: int, choices: int, choice_words: int, values: int, **options) -> DecideRequest:
    targets = {name: 0.8 for name in ["fairness", "care", "loyalty", "authority", "sanctity"][:values]}
    return DecideRequest(
        scenario=" ".join(["words"] * words),
        choices=[f"{i} " + " ".join(["words"] * choice_words) for i in range(choices)],
        target=targets,
        **options,
    )


def test_every_default_and_a_full_comparison_of_defaults_fit_the_default_budget(tmp_path):
    service = _service(tmp_path)
    limit = Settings().request_max_model_tokens
    algorithms = ["unaligned", "persona", "persona-vote", "likelihood", "icl", "regression", "value-fit"]
    for name in algorithms:  # a 150-word dilemma, 4 choices of 15 words, 3 values; six columns of it
        request = _dilemma(150, 4, 15, 3, algorithm=name)
        assert MAX_COLUMNS * service.model_tokens(request) <= limit, name
    # the largest, persona-vote: 21 calls, each reading about 600 tokens and writing up to 200
    assert MAX_COLUMNS * service.model_tokens(_dilemma(150, 4, 15, 3, algorithm="persona-vote")) < 110_000
    assert service.model_tokens(_decide(algorithm="persona-vote", params=HEAVY)) > limit


def test_many_prompt_reads_are_refused_though_they_write_little(tmp_path):
    """likelihood with debias "contrast" reads the whole prompt twice per choice: 26 long choices
    under a 600-word scenario make 52 reads of about 3,400 tokens each (46.7 s a read measured on
    the embedded model), though it writes only a short justification."""
    calls: list[str] = []
    service = _service(tmp_path, calls)
    contrast = {"debias": "contrast"}
    probe = _dilemma(600, 26, 50, 1, algorithm="likelihood", params=contrast)
    assert service.prompt_tokens(probe) > 3000
    assert service.model_tokens(probe) > Settings().request_max_model_tokens
    with pytest.raises(InputError, match=r"read and write .* fewer choices, a shorter scenario"):
        service.decide(probe)
    column = CompareColumn(algorithm="likelihood", params=contrast, target={"fairness": 0.9})
    request = CompareRequest(scenario=probe.scenario, choices=probe.choices, columns=[column] * MAX_COLUMNS)
    with pytest.raises(InputError, match=r"or fewer columns"):
        compare(service, request, lambda c: c.targets)
    # icl's examples fill each prompt, up to a context per call
    many = _dilemma(150, 4, 15, 3, algorithm="icl", params={"k": 20, "max_tokens": 2048, "retries": 10})
    assert service.model_tokens(many) == 11 * (CONTEXT_TOKENS + 2048)
    with pytest.raises(InputError, match=r"fewer examples \(k\)"):
        service.check_budget([many] * 3)
    assert calls == []


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
    with pytest.raises(InputError, match=r"more than the 150,000 one request may ask for") as refused:
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
    # each column alone fits (7 samples x 3 tries x (its prompt + 1000 tokens)), the six together do not
    column = CompareColumn(algorithm="persona-vote", params={"max_tokens": 1000}, target={"fairness": 0.9})
    one = service.model_tokens(_decide(algorithm="persona-vote", params={"max_tokens": 1000}))
    assert one > 21 * 1000 and MAX_COLUMNS * one > Settings().request_max_model_tokens
    service.check_budget([_decide(algorithm="persona-vote", params={"max_tokens": 1000})])
    request = CompareRequest(scenario="One kit.", choices=["a", "b"], columns=[column] * MAX_COLUMNS)
    with pytest.raises(InputError, match=rf"{MAX_COLUMNS * one:,} tokens .* or fewer columns"):
        compare(service, request, lambda c: c.targets)
    assert calls == []
    defaults = CompareColumn(algorithm="persona-vote", target={"fairness": 0.9})
    request = CompareRequest(scenario="One kit.", choices=["a", "b"], columns=[defaults] * MAX_COLUMNS)
    result = compare(service, request, lambda c: c.targets)
    assert all(r.decision is not None for r in result.results) and len(calls) == 7 * MAX_COLUMNS


def test_a_smaller_budget_from_the_settings(tmp_path):
    service = _service(tmp_path)
    service.settings = Settings(data_dir=tmp_path, request_max_model_tokens=2000)
    votes = service.model_tokens(_decide(algorithm="persona-vote"))
    with pytest.raises(InputError, match=rf"{votes:,} tokens .* more than the 2,000"):
        service.decide(_decide(algorithm="persona-vote"))
    assert service.decide(_decide(algorithm="persona")).algorithm == "persona"


class _Overlaps(FakeBackbone):
    """Records the most calls it served at once."""

    def __init__(self, name: str) -> None:
        super().__init__(lambda request, k: {"reasoning": "r", "choice": "A"}, name=name)
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0

    def execute(self, request: GenerationRequest) -> GenerationResult:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            time.sleep(0.05)
            return super().execute(request)
        finally:
            with self.lock:
                self.active -= 1


def test_a_comparison_takes_one_call_at_a_time_on_a_backbone_that_serves_one(tmp_path):
    """The embedded model serves one call at a time, in arrival order: a comparison's columns on it
    run one after another, so another person's call waits behind one of its calls, not six. Columns
    on a server that takes several calls at once still run at once."""
    settings = Settings(
        data_dir=tmp_path,
        backbones={
            "embedded": BackboneConfig(type="llamacpp"),
            "remote": BackboneConfig(type="openai", base_url="http://127.0.0.1:1/v1", max_concurrency=4),
        },
    )
    pool = BackbonePool(settings)
    embedded, remote = _Overlaps("embedded"), _Overlaps("remote")
    pool.add(embedded)
    pool.add(remote)
    service = DecisionService(settings, pool)
    serial = CompareColumn(algorithm="persona", backbone="embedded", target={"fairness": 0.9})
    parallel = CompareColumn(algorithm="persona", backbone="remote", target={"fairness": 0.9})
    request = CompareRequest(scenario="One kit.", choices=["a", "b"], columns=[serial] * 3 + [parallel] * 3)
    result = compare(service, request, lambda c: c.targets)
    assert all(r.decision is not None for r in result.results), result
    assert [r.column.backbone for r in result.results] == ["embedded"] * 3 + ["remote"] * 3
    assert embedded.most == 1
    assert remote.most > 1
    requests = [_decide(algorithm="persona", backbone=b) for b in ["embedded", "remote", "embedded"]]
    assert lanes(service, [*requests, _decide(algorithm="value-fit")]) == [[0, 2], [1], [3]]


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
