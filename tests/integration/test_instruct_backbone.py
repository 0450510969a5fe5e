"""The paper's algorithms through the ``openai`` backbone against a REAL llama-cpp-python server that
serves the smallest instruction-tuned model installable here (Qwen2.5-Coder-0.5B-Instruct, the
``instruct-small`` extra), configured as ``align models add`` writes it: the GGUF's own ChatML
template, system messages kept, the schema asked for in words, ChatML prefills for likelihood.

One short scenario; each decision must follow the target (high and low give different choices)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from alignment.algorithms import DecisionContext, create_algorithm
from alignment.backbone import Backbone, GenerationRequest, GenerationResult
from alignment.models import AlignmentTarget, Attribute, Message, Scenario
from alignment.structured import ask_structured, parse_json_object
from assistant.backbones.openai.backbone import OpenAICompatBackbone, create
from assistant.backbones.openai.requests import render_prompt
from assistant.instruct_models import assemble, backbone_tables, find_model, installed
from assistant.settings import Settings
from assistant.stores.embedding import MiniLMEmbedder
from tests.helpers.llama_server import LlamaServer

pytestmark = pytest.mark.server

MODEL = find_model("qwen-coder-0.5b")

RISK = Attribute(
    name="risk_aversion",
    label="risk aversion",
    description="how much the person avoids risk and uncertainty",
    high="prefers the safe, certain option even if it gains less",
    low="takes the risky option for the chance of a bigger gain",
)
SCENARIO = Scenario(
    text="You have 10,000 dollars of savings to put somewhere for a year.",
    choices=[
        "Keep it in a government-insured savings account",
        "Bet all of it on one volatile cryptocurrency",
    ],
)


def target(value: float) -> AlignmentTarget:
    return AlignmentTarget(values={"risk_aversion": value}, attributes={"risk_aversion": RISK})


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not installed(MODEL):
        pytest.skip(f"the {MODEL.extra} extra is not installed: pip install -e '.[{MODEL.extra}]'")
    return assemble(MODEL, tmp_path_factory.mktemp("data"), verify_existing=False)


@pytest.fixture(scope="module")
def server(model_path: Path) -> Iterator[LlamaServer]:
    # the GGUF's own chat template (chat_format None), as `align models add` tells to start it; one
    # thread: on 2 busy cores llama.cpp's two threads wait on each other (docs/results/instruct.md)
    with LlamaServer(model_path, chat_format=None, extra_args=["--n_threads", "1"]) as running:
        yield running


@pytest.fixture(scope="module")
def backbone(model_path: Path, server: LlamaServer) -> Iterator[OpenAICompatBackbone]:
    options = backbone_tables(MODEL, model_path, port=server.port)[MODEL.name]
    options = {k: v for k, v in options.items() if k not in ("type", "instruct")}
    built = create("qwen-small", {**options, "timeout_s": 300})
    yield built
    built.close()


def test_the_written_backbone_keeps_system_messages_and_asks_for_the_schema(backbone):
    """ChatML keeps a system turn: the model obeys a system-only instruction; and an answer asked for
    in words (no grammar) comes back as JSON of the schema."""
    schema = {
        "type": "object",
        "properties": {"reasoning": {"type": "string"}, "choice": {"type": "string", "enum": ["A", "B"]}},
        "required": ["reasoning", "choice"],
    }
    result = backbone.execute(
        GenerationRequest(
            messages=[
                Message(role="system", content="Whatever you are asked, you always choose option B."),
                Message(role="user", content="Choose: (A) tea or (B) coffee."),
            ],
            json_schema=schema,
            max_tokens=60,
            temperature=0.0,
            seed=1,
        )
    )
    answer = parse_json_object(result.texts[0])
    assert answer["choice"] == "B"
    assert isinstance(answer["reasoning"], str)


def test_chatml_prefill_reads_label_logprobs(backbone):
    """likelihood's prefill goes to /v1/completions rendered in ChatML: the labels are the likely
    next tokens, nearly all of the probability (which one wins is the model's business: this 0.5B
    model leans to A here)."""
    messages = [
        Message(role="system", content="Answer with the option's letter."),
        Message(role="user", content="Which is a fruit? (A) a hammer (B) an apple"),
    ]
    assert render_prompt(messages, "chatml", "The answer is (", fold=False).startswith("<|im_start|>system\n")
    result = backbone.execute(
        GenerationRequest(messages=messages, label_logprobs=["A", "B"], prefill="The answer is (")
    )
    assert result.label_logprobs is not None
    assert sum(math.exp(lp) for lp in result.label_logprobs.values()) > 0.8


@pytest.mark.parametrize("name", ["persona", "regression"])
def test_the_decision_follows_the_target(backbone, name):
    algorithm = create_algorithm(name)
    high = algorithm.run(DecisionContext(scenario=SCENARIO, target=target(1.0), seed=3), backbone)
    low = algorithm.run(DecisionContext(scenario=SCENARIO, target=target(0.0), seed=3), backbone)
    assert high.backbone == "qwen-small"
    assert high.justification.strip()
    detail = json.dumps({"high": high.justification, "low": low.justification})
    assert high.choice_index == 0, detail
    assert low.choice_index == 1, detail


class Counting(Backbone):
    """The served backbone, counting the requests that reach it."""

    def __init__(self, inner: OpenAICompatBackbone) -> None:
        self.inner, self.name, self.capabilities, self.requests = inner, inner.name, inner.capabilities, 0

    def execute(self, request: GenerationRequest) -> GenerationResult:
        self.requests += 1
        return self.inner.execute(request)


def test_the_default_decider_of_the_written_backbone_follows_the_target_without_the_model(
    backbone, model_path, server
):
    """The settings' rule gives the instruct backbone its decider (value-fit, chosen by measurement:
    docs/results/instruct.md): it follows the target both ways without asking the 0.5B model,
    whose decisions take about a minute each on these cores."""
    settings = Settings(backbones=backbone_tables(MODEL, model_path, port=server.port))
    decider = settings.deciders[settings.decider_for(MODEL.name)]
    assert settings.decider_for(MODEL.name) == settings.instruct_decider
    algorithm = create_algorithm(decider.algorithm, **decider.params)
    counting = Counting(backbone)
    embedder = MiniLMEmbedder()
    choices = [
        algorithm.run(
            DecisionContext(scenario=SCENARIO, target=target(value), seed=3, embedder=embedder), counting
        ).choice_index
        for value in (1.0, 0.0)
    ]
    assert choices == [0, 1]
    assert counting.requests == 0


class Recording(Counting):
    """Counting, and keeping each request's messages."""

    def __init__(self, inner: OpenAICompatBackbone) -> None:
        super().__init__(inner)
        self.asked: list[list[Message]] = []

    def execute(self, request: GenerationRequest) -> GenerationResult:
        self.asked.append(list(request.messages))
        return super().execute(request)


def test_an_invalid_answer_is_asked_again_with_its_error_through_the_template(backbone):
    """A retry adds what was wrong to the question (a greedy model asked the same prompt writes the same
    broken answer; shown its broken answer, this model copied it). Here the first answer is refused by
    the caller's check; the retry goes through the server's template and comes back as JSON of the
    schema."""

    class Choice(BaseModel):
        reasoning: str
        choice: Literal["A", "B"]

    refused: list[Choice] = []

    def refuse_once(answer: Choice) -> None:
        if not refused:
            refused.append(answer)
            raise ValueError("choice: the person asked for the drink without caffeine")

    schema = Choice.model_json_schema()
    recording = Recording(backbone)
    reply = ask_structured(
        recording,
        [Message(role="user", content="Choose a drink: (A) coffee or (B) herbal tea.")],
        Choice,
        schema,
        max_tokens=80,
        seed=1,
        check=refuse_once,
    )
    assert reply.attempts == 2 and recording.requests == 2 and refused
    retry = recording.asked[1]
    assert [m.role for m in retry] == ["user"]
    assert "without caffeine" in retry[-1].content
    assert isinstance(reply.answers[0], Choice)
