"""The embedded ``llamacpp`` backbone with the real Gemma 3 270M model (kept short: 2 shared cores)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from alignment.algorithms import DecisionContext, create_algorithm
from alignment.backbone import Backbone, GenerationRequest, GenerationResult, call_check
from alignment.errors import BackboneUnavailable, ConfigError, InputError
from alignment.models import AlignmentTarget, Message, Scenario
from alignment.prompts import decision_schema, persona_system_prompt, question_messages
from assistant.backbones.cpu_clock import native_thread_ids
from assistant.backbones.llamacpp.backbone import LlamaCppBackbone, create
from tests.helpers.cli import align_json, decide_args
from tests.helpers.schemas import nested_schema

SCENARIO = Scenario(
    text=(
        "Two patients reach the field hospital at once. One is the soldier who started the fight, "
        "with a deep leg wound. The other is a bystander he hurt, with a head injury. "
        "You can treat only one first."
    ),
    choices=["Treat the soldier first", "Treat the bystander first", "Wait for the doctor"],
)
TARGET = AlignmentTarget(values={"moral_deservingness": 0.9, "fairness": 0.2})

NESTED = nested_schema(closed=True)


class Recorder(Backbone):
    """Passes requests to the real backbone and keeps each (request, result) pair."""

    def __init__(self, inner: Backbone) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.calls: list[tuple[GenerationRequest, GenerationResult]] = []

    def execute(self, request: GenerationRequest) -> GenerationResult:
        result = self.inner.execute(request)
        self.calls.append((request, result))
        return result


def messages() -> list[Message]:
    return question_messages(persona_system_prompt(TARGET), SCENARIO)


@pytest.mark.model
@pytest.mark.parametrize(
    ("algorithm", "params"),
    [
        ("unaligned", {}),
        ("persona", {}),
        ("persona-vote", {"n_aligned": 2, "n_opposite": 1}),
        ("likelihood", {"justification_tokens": 24}),
    ],
)
def test_each_algorithm_decides_with_schema_valid_generations(
    embedded_backbone: Backbone, algorithm: str, params: dict
) -> None:
    recorder = Recorder(embedded_backbone)
    decision = create_algorithm(algorithm, **params).run(
        DecisionContext(scenario=SCENARIO, target=TARGET, seed=7), recorder
    )
    assert decision.choice in SCENARIO.choices
    assert decision.choice == SCENARIO.choices[decision.choice_index]
    assert decision.justification.strip()
    assert decision.usage.prompt_tokens > 0 and decision.usage.calls == len(recorder.calls)
    structured = [(req, res) for req, res in recorder.calls if req.json_schema is not None]
    if algorithm == "likelihood":
        assert recorder.calls[0][0].label_logprobs == ["A", "B", "C"]
        logprobs = recorder.calls[0][1].label_logprobs
        assert logprobs is not None and all(lp < 0 for lp in logprobs.values())
        assert sum(np.exp(list(logprobs.values()))) <= 1.0 + 1e-6
    else:
        assert len(structured) == params.get("n_aligned", 1) + params.get("n_opposite", 0)
    for req, res in structured:
        assert len(res.texts) == req.n
        for text in res.texts:
            jsonschema.validate(json.loads(text), req.json_schema)
        assert res.usage.completion_tokens > 0 and res.seconds > 0
        # the model's own CPU (calling thread + llama.cpp's workers), at most every thread busy
        assert res.cpu_seconds is not None and res.cpu_seconds > 0
        assert res.cpu_seconds <= res.seconds * embedded_backbone.options.n_threads + 0.05  # type: ignore[attr-defined]
    assert decision.timings["backbone_cpu_s"] == pytest.approx(
        sum(r.cpu_seconds or 0 for _, r in recorder.calls)
    )


@pytest.mark.model
def test_same_seed_same_decision_and_text(embedded_backbone: Backbone) -> None:
    persona = create_algorithm("persona", temperature=0.9, max_tokens=60)
    context = DecisionContext(scenario=SCENARIO, target=TARGET, seed=11)
    first = persona.run(context, embedded_backbone)
    second = persona.run(context, embedded_backbone)
    assert (first.choice_index, first.justification) == (second.choice_index, second.justification)

    def sample(seed: int) -> str:
        request = GenerationRequest(
            messages=messages(), prefill="I choose", max_tokens=12, temperature=1.0, seed=seed, n=2
        )
        result = embedded_backbone.execute(request)
        assert len(result.texts) == 2 and result.usage.completion_tokens > 0
        return json.dumps(result.texts)

    assert sample(3) == sample(3)
    assert sample(3) != sample(4)


@pytest.mark.model
def test_same_seed_same_text_cold_or_warm_cache(embedded_backbone: Backbone) -> None:
    """The KV cache is reused only in whole blocks, so what ran before never changes a seeded answer."""
    request = GenerationRequest(
        messages=messages(), json_schema=decision_schema(3), temperature=1.0, seed=21, max_tokens=40
    )
    embedded_backbone.reset_cache()  # type: ignore[attr-defined]
    cold = embedded_backbone.execute(request).texts
    other = question_messages(persona_system_prompt(TARGET.opposite()), SCENARIO)
    embedded_backbone.execute(GenerationRequest(messages=other, max_tokens=5))
    warm = embedded_backbone.execute(request).texts
    again = embedded_backbone.execute(request).texts
    assert cold == warm == again


@pytest.mark.model
def test_label_logprobs_match_a_logits_all_reference(
    embedded_backbone: Backbone, embedded_model_file: Path
) -> None:
    from llama_cpp import Llama

    from assistant.backbones.llamacpp.sampling import log_softmax

    short = [Message(role="user", content="Question: which letter comes first?\n(A) alpha\n(B) beta")]
    prefill = "Answer: ("
    result = embedded_backbone.execute(
        GenerationRequest(messages=short, label_logprobs=["A", "B", "C"], prefill=prefill)
    )
    assert result.label_logprobs is not None
    tokens = embedded_backbone.prompt_tokens(short, prefill)  # type: ignore[attr-defined]
    reference = Llama(
        model_path=str(embedded_model_file), n_ctx=256, n_threads=2, logits_all=True, verbose=False
    )
    try:
        reference.eval(tokens)
        expected = log_softmax(np.array(reference.scores[len(tokens) - 1]))
        for label, value in result.label_logprobs.items():
            token = reference.tokenize(label.encode(), add_bos=False)[0]
            assert abs(value - expected[token]) < 1e-3, label
    finally:
        reference.close()
    assert result.usage.prompt_tokens == len(tokens) and result.usage.completion_tokens == 0


@pytest.mark.model
def test_nested_regression_schema_is_valid_json(embedded_backbone: Backbone) -> None:
    prompt = question_messages(
        persona_system_prompt(TARGET),
        SCENARIO,
        suffix="Rate how fair each of the choices A and B is from 0 to 10, with a short reason for each.",
    )
    for temperature, seed in ((0.0, None), (0.8, 5)):
        result = embedded_backbone.execute(
            GenerationRequest(
                messages=prompt, json_schema=NESTED, temperature=temperature, seed=seed, max_tokens=160
            )
        )
        answer = json.loads(result.texts[0])
        jsonschema.validate(answer, NESTED)
        assert answer["A"]["reasoning"].strip() or answer["B"]["reasoning"].strip()


@pytest.mark.model
def test_unwalkable_schema_falls_back_to_the_grammar(embedded_backbone: Backbone) -> None:
    assert isinstance(embedded_backbone, LlamaCppBackbone)
    schema = {
        "type": "object",
        "properties": {"letter": {"type": "string", "pattern": "^[ABC]$"}},
        "required": ["letter"],
    }
    before = embedded_backbone.grammar_fallbacks
    walked = embedded_backbone.execute(
        GenerationRequest(messages=messages(), json_schema=decision_schema(2), max_tokens=40, seed=1)
    )
    jsonschema.validate(json.loads(walked.texts[0]), decision_schema(2))
    assert embedded_backbone.grammar_fallbacks == before  # the schema decoder walked it: no fallback
    result = embedded_backbone.execute(
        GenerationRequest(messages=messages(), json_schema=schema, max_tokens=16, seed=1)
    )
    assert embedded_backbone.grammar_fallbacks == before + 1  # a pattern: llama.cpp's grammar answered
    jsonschema.validate(json.loads(result.texts[0]), schema)


@pytest.mark.model
def test_over_long_prompt_is_an_input_error(embedded_backbone: Backbone) -> None:
    long = [Message(role="user", content="word " * 6000)]
    with pytest.raises(InputError, match=r"prompt has \d+ tokens.*holds 4096"):
        embedded_backbone.execute(GenerationRequest(messages=long, max_tokens=8))
    with pytest.raises(InputError, match="holds 4096"):
        embedded_backbone.execute(GenerationRequest(messages=long, json_schema=decision_schema(2)))


@pytest.mark.model
def test_a_call_whose_asker_left_while_it_waited_never_starts(embedded_backbone: Backbone) -> None:
    """The model thread runs each call in its caller's context and checks, once it holds the model,
    that the asker is still there (``call_check``, which ``cancel.checked`` sets): the queued columns
    of a Compare whose caller left stop there instead of each generating first."""
    from assistant.decisions import cancel

    gone = threading.Event()
    checked_backbone = cancel.checked(embedded_backbone)
    request = GenerationRequest(messages=[Message(role="user", content="Say hi.")], max_tokens=8)

    def leaves_as_its_turn_comes() -> None:
        gone.set()
        cancel.check()

    token = call_check.set(leaves_as_its_turn_comes)
    try:
        with cancel.asking(gone), pytest.raises(cancel.TurnCancelled):
            embedded_backbone.execute(request)
    finally:
        call_check.reset(token)
    gone.clear()
    with cancel.asking(gone):
        assert checked_backbone.execute(request).texts  # an asker still there is answered


def test_bad_model_files_and_options(tmp_path: Path) -> None:
    with pytest.raises(BackboneUnavailable, match=r"missing\.gguf does not exist.*model_path"):
        create("local", {"model_path": str(tmp_path / "missing.gguf")}, None)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    with pytest.raises(BackboneUnavailable, match=r"could not load .*junk\.gguf"):
        create("local", {"model_path": str(junk)}, None)
    with pytest.raises(ConfigError, match=r"backbones\.local\.n_ctxx"):
        create("local", {"model_path": str(junk), "n_ctxx": 10}, None)
    with pytest.raises(ConfigError, match=r"backbones\.local\.chat_format: unknown chat format"):
        create("local", {"chat_format": "nope"}, None)


@pytest.mark.model
def test_align_decide_end_to_end(tmp_path: Path) -> None:
    decision = align_json(
        decide_args(SCENARIO, "--target", "fairness=0.9", "--algorithm", "persona", "--json", "--seed", "1"),
        cwd=tmp_path,
        env={"ALIGN_DATA_DIR": str(tmp_path / "data")},
        unset=["ALIGN_CONFIG"],
    )
    assert decision["choice"] in SCENARIO.choices[:2]
    assert decision["algorithm"] == "persona" and decision["backbone"] == "embedded"
    assert decision["justification"].strip()


def test_calls_from_many_threads_share_one_team_of_workers(embedded_model_file: Path) -> None:
    """OpenMP gives each thread that calls llama.cpp its own team of workers; a server calls from many
    handler threads, so every call runs on the backbone's own thread: callers add no workers."""
    import threading

    backbone = create("two-threads", {"model_path": str(embedded_model_file), "n_threads": 2}, None)
    request = GenerationRequest(
        messages=[Message(role="user", content="Say yes.")], max_tokens=2, temperature=0.0
    )
    try:
        backbone.execute(request)  # the first call starts the one team
        before = native_thread_ids()
        callers = [threading.Thread(target=backbone.execute, args=(request,)) for _ in range(4)]
        for t in callers:
            t.start()
            t.join()
        # a joined caller's OS thread can outlive its join for a moment (the kernel is still reaping
        # it); OpenMP workers never exit, so whatever is left after a grace period is a new team
        deadline = time.monotonic() + 5.0
        added = native_thread_ids() - before
        while added and time.monotonic() < deadline:
            time.sleep(0.05)
            added = native_thread_ids() - before
        assert not added, f"{len(added)} new native threads after calls from 4 threads"
    finally:
        backbone.close()
    with pytest.raises(BackboneUnavailable, match="closed"):
        backbone.execute(request)
