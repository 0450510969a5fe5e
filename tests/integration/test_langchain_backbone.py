"""The ``langchain`` backbone for real: ``langchain_openai.ChatOpenAI`` against llama-cpp-python's own
OpenAI-compatible server with the embedded Gemma GGUF (one request at a time: small max_tokens).

That server refuses ``response_format`` json_schema (what ChatOpenAI's ``with_structured_output(...,
method="json_schema")`` sends) and ignores ``max_completion_tokens`` (what ChatOpenAI sends for
max_tokens); it constrains output with ``{"type": "json_object", "schema": ...}``. So the backbone is
configured as a person would for such a server: max_tokens and the schema per request, through
``extra_body``."""

from __future__ import annotations

from typing import Any

import pytest

from alignment.algorithms import DecisionContext, create_algorithm
from alignment.backbone import GenerationRequest
from alignment.errors import BackboneError, BackboneUnavailable, InputError
from alignment.models import Message
from assistant.backbones import BackbonePool
from assistant.backbones.langchain.backbone import LangChainBackbone, create
from assistant.decisions.service import DecideRequest, DecisionService
from assistant.settings import Settings
from tests.helpers.backbones import SCENARIO, TARGET
from tests.helpers.llama_server import LlamaServer, free_port

pytestmark = pytest.mark.server

SCHEMA = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string", "maxLength": 80},
        "choice": {"type": "string", "enum": ["A", "B"]},
    },
    "required": ["reasoning", "choice"],
}


def options(server: LlamaServer, **more: Any) -> dict[str, Any]:
    return {
        "class": "langchain_openai:ChatOpenAI",
        "options": {"base_url": server.base_url, "api_key": "none", "model": "gemma", "max_retries": 0},
        "fold_system": True,  # the server's gemma chat format drops system messages
        **more,
    }


PER_REQUEST = {"temperature": "temperature", "max_tokens": "extra_body.max_tokens", "seed": "seed"}


def constrained_options(server: LlamaServer) -> dict[str, Any]:
    """The schema per request in the server's own setting (``response_format.schema``), and in the
    prompt."""
    config = options(server, per_request={**PER_REQUEST, "json_schema": "extra_body.response_format.schema"})
    config["options"]["extra_body"] = {"response_format": {"type": "json_object"}}
    return config


@pytest.fixture(scope="module")
def constrained(llama_server: LlamaServer) -> LangChainBackbone:
    return create("lc-llama", constrained_options(llama_server))


def test_text_with_per_request_settings_and_seeds(llama_server):
    lc = create("lc-text", options(llama_server, per_request=PER_REQUEST))
    assert lc.capabilities.seeded and not lc.capabilities.label_logprobs
    request = GenerationRequest(
        messages=[Message(role="user", content="Write a sentence about the sea.")],
        max_tokens=6,
        temperature=0.9,
        seed=11,
    )
    first = lc.execute(request)
    assert first.usage.completion_tokens == 6 and first.usage.prompt_tokens > 0  # the server kept the limit
    assert lc.execute(request).texts == first.texts  # the same seed, the same sample
    assert first.texts[0].strip()


def test_json_schema_refused_by_the_provider_moves_to_the_prompt(llama_server):
    auto = create("lc-auto", options(llama_server, per_request=PER_REQUEST))
    assert auto.structured_via == "auto" and auto.capabilities.json_schema  # ChatOpenAI offers json_schema
    asked = GenerationRequest(
        messages=[Message(role="user", content="Pick A or B.")], json_schema=SCHEMA, max_tokens=24, seed=1
    )
    result = auto.execute(asked)  # the server answers 500 to json_schema, then answers the prompt
    assert len(result.texts) == 1 and result.usage.calls == 1
    assert auto.structured_via == "prompt" and not auto.capabilities.json_schema

    strict = create(
        "lc-strict", options(llama_server, per_request=PER_REQUEST, structured_output="json_schema")
    )
    with pytest.raises(BackboneError, match="structured_output to 'prompt'") as caught:
        strict.execute(asked)
    assert "500" in str(caught.value)


def test_algorithms_decide_through_the_schema_setting(constrained):
    assert constrained.structured_via == "setting" and constrained.capabilities.json_schema
    for name, params in [
        ("persona", {"max_tokens": 120}),
        ("persona-vote", {"n_aligned": 2, "n_opposite": 1}),
    ]:
        decision = create_algorithm(name, **params).run(
            DecisionContext(scenario=SCENARIO, target=TARGET, seed=3), constrained
        )
        assert decision.choice in SCENARIO.choices and decision.justification.strip()
        assert decision.backbone == "lc-llama" and decision.usage.calls >= 1
    with pytest.raises(InputError, match="cannot give log-probabilities"):
        create_algorithm("likelihood").run(DecisionContext(scenario=SCENARIO, target=TARGET), constrained)


def test_a_langchain_backbone_from_the_settings_decides_through_the_service(llama_server):
    config = {"type": "langchain", **constrained_options(llama_server)}
    settings = Settings(backbones={"embedded": {"type": "llamacpp"}, "lc": config})
    pool = BackbonePool(settings)
    try:
        decision = DecisionService(settings, pool).decide(
            DecideRequest(
                scenario=SCENARIO.text,
                choices=SCENARIO.choices,
                target=TARGET.values,
                algorithm="unaligned",
                backbone="lc",
                params={"max_tokens": 100},
                seed=2,
            )
        )
    finally:
        pool.close()
    assert decision.backbone == "lc" and decision.choice in SCENARIO.choices


def test_an_unreachable_provider_is_reported_as_unavailable():
    gone = create(
        "lc-gone",
        {
            "class": "langchain_openai:ChatOpenAI",
            "options": {"base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": "x", "max_retries": 0},
        },
    )
    with pytest.raises(BackboneUnavailable, match="cannot reach backbone 'lc-gone'"):
        gone.execute(GenerationRequest(messages=[Message(role="user", content="hello")], max_tokens=4))
