"""The openai backbone without a server: request bodies per flavour, vLLM options, label logprobs,
retries and error translation (through an in-memory HTTP transport)."""

from __future__ import annotations

import json
import math

import httpx2
import pytest

from alignment.backbone import GenerationRequest
from alignment.errors import (
    BackboneError,
    BackboneUnavailable,
    ConfigError,
    InvalidModelOutput,
    NotImplementedFeature,
)
from alignment.models import Message
from alignment.prompts import decision_schema
from alignment.structured import ChoiceAnswer, ask_structured
from assistant.backbones.messages import fold_system
from assistant.backbones.openai import vllm_options
from assistant.backbones.openai.backbone import CAPABILITIES, OpenAICompatBackbone, OpenAIOptions, create
from assistant.backbones.openai.requests import (
    MAX_TOP_LOGPROBS,
    MISSING_LABEL_MARGIN,
    build_chat_body,
    build_completion_body,
    label_logprobs_from_top,
    render_prompt,
    response_format,
)

MESSAGES = [Message(role="system", content="Be fair."), Message(role="user", content="Pick A or B.")]
SCHEMA = decision_schema(2)


def req(**kw) -> GenerationRequest:
    return GenerationRequest(messages=MESSAGES, **kw)


# -- request bodies ---------------------------------------------------------------------------


def test_response_format_per_flavour():
    assert response_format("llamacpp-server", SCHEMA) == {"type": "json_object", "schema": SCHEMA}
    for flavour in ("vllm", "openai"):
        rf = response_format(flavour, SCHEMA)
        assert rf["type"] == "json_schema"
        assert rf["json_schema"]["schema"] == SCHEMA
        assert rf["json_schema"]["strict"] is True
        assert rf["json_schema"]["name"]


def test_vllm_structured_body():
    body = build_chat_body(
        req(json_schema=SCHEMA, n=3, seed=5, max_tokens=40, temperature=0.7, stop=["\n\n"]),
        model="qwen",
        flavour="vllm",
        fold=False,
        n=3,
    )
    assert body == {
        "model": "qwen",
        "messages": [
            {"role": "system", "content": "Be fair."},
            {"role": "user", "content": "Pick A or B."},
        ],
        "temperature": 0.7,
        "max_tokens": 40,
        "n": 3,
        "stop": ["\n\n"],
        "response_format": response_format("vllm", SCHEMA),
        "seed": 5,
    }


def test_openai_flavour_uses_max_completion_tokens():
    body = build_chat_body(req(max_tokens=17), model="gpt", flavour="openai", fold=False)
    assert body["max_completion_tokens"] == 17
    assert "max_tokens" not in body


def test_llamacpp_server_body_folds_system_and_sends_max_tokens():
    body = build_chat_body(
        req(json_schema=SCHEMA, max_tokens=33), model="g", flavour="llamacpp-server", fold=True
    )
    assert body["max_tokens"] == 33  # the llama server ignores max_completion_tokens
    assert "max_completion_tokens" not in body
    assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert body["messages"] == [{"role": "user", "content": "Be fair.\n\nPick A or B."}]


def test_vllm_prefill_continues_the_final_assistant_message():
    body = build_chat_body(
        req(label_logprobs=["A", "B"], prefill="The answer is ("), model="q", flavour="vllm", fold=False
    )
    assert body["messages"][-1] == {"role": "assistant", "content": "The answer is ("}
    assert body["continue_final_message"] is True
    assert body["add_generation_prompt"] is False
    assert body["logprobs"] is True
    assert body["top_logprobs"] == MAX_TOP_LOGPROBS == 20
    assert body["max_tokens"] == 1
    assert body["temperature"] == 0.0
    assert "response_format" not in body


def test_openai_flavour_refuses_a_prefill():
    with pytest.raises(NotImplementedFeature, match="cannot continue an assistant prefill"):
        build_chat_body(req(prefill="The answer is ("), model="gpt", flavour="openai", fold=False)


def test_vllm_structured_outputs_field_and_extra_body():
    body = build_chat_body(
        req(json_schema=SCHEMA),
        model="q",
        flavour="vllm",
        fold=False,
        structured_via="structured_outputs",
        extra_body={"top_k": 20},
    )
    assert body["structured_outputs"] == {"json": SCHEMA}
    assert "response_format" not in body
    assert body["top_k"] == 20


def test_vllm_options_are_versioned_and_small():
    assert vllm_options.VLLM_VERSION == "0.12"
    assert vllm_options.continue_final_message_v0_12() == {
        "continue_final_message": True,
        "add_generation_prompt": False,
    }
    assert vllm_options.structured_outputs_choice_v0_12(["A", "B"]) == {
        "structured_outputs": {"choice": ["A", "B"]}
    }


def test_completion_body_for_llama_server_prefill():
    body = build_completion_body(
        req(prefill="The answer is (", max_tokens=9, seed=3, stop=["\n\n"]), model="g", prompt_format="gemma"
    )
    assert body["prompt"].endswith("<start_of_turn>model\nThe answer is (")
    assert body["max_tokens"] == 9
    assert body["stop"] == ["\n\n", "<end_of_turn>"]
    assert body["seed"] == 3
    logprob_body = build_completion_body(req(label_logprobs=["A", "B"]), model="g", prompt_format="gemma")
    assert logprob_body["logprobs"] == 20
    assert logprob_body["max_tokens"] == 1
    with pytest.raises(
        NotImplementedFeature,
        match="a JSON schema together with a prefill is not built for flavour 'llamacpp-server'",
    ):
        build_completion_body(req(json_schema=SCHEMA, prefill="{"), model="g", prompt_format="gemma")


def test_gemma_prompt_matches_llama_cpp_chat_format():
    """Our rendering is exactly what the server's --chat_format gemma builds (then the prefill)."""
    from llama_cpp.llama_chat_format import format_gemma

    folded = [m.model_dump() for m in fold_system(MESSAGES)]
    theirs = format_gemma(folded).prompt  # type: ignore[arg-type]
    assert render_prompt(MESSAGES, "gemma") == theirs
    assert render_prompt(MESSAGES, "gemma", "The answer is (") == theirs + "The answer is ("


def test_fold_system_without_user_turn():
    assert fold_system([Message(role="system", content="S")]) == [Message(role="user", content="S")]
    assert fold_system(MESSAGES[1:]) == MESSAGES[1:]


# -- label log-probabilities ------------------------------------------------------------------


def test_label_logprobs_merge_whitespace_variants_and_floor_missing():
    top = [("A", -0.8), ("B", -0.9), (" A", -6.0), ("a", -4.5), ("x", -7.0)]
    lp = label_logprobs_from_top(top, ["A", "B", "C"])
    assert lp["A"] == pytest.approx(math.log(math.exp(-0.8) + math.exp(-6.0)))
    assert lp["B"] == pytest.approx(-0.9)  # "a" is not "A": case matters
    assert lp["C"] == pytest.approx(-7.0 - MISSING_LABEL_MARGIN)
    assert lp["C"] < min(v for _, v in top)


def test_label_logprobs_never_guess():
    with pytest.raises(BackboneError, match="none of the labels"):
        label_logprobs_from_top([("The", -0.1), ("**", -2.0)], ["A", "B"])
    with pytest.raises(BackboneError, match="no top log-probabilities"):
        label_logprobs_from_top([], ["A", "B"])


# -- options ----------------------------------------------------------------------------------


def test_options_are_checked(monkeypatch):
    with pytest.raises(ConfigError, match="base_url"):
        create("x", {})
    with pytest.raises(ConfigError, match="colour"):
        create("x", {"base_url": "http://h/v1", "colour": "blue"})
    with pytest.raises(ConfigError, match="not an http"):
        create("x", {"base_url": "h:8000"})
    with pytest.raises(ConfigError, match="flavour"):
        create("x", {"base_url": "http://h/v1", "flavour": "tgi"})
    with pytest.raises(ConfigError, match="vLLM field"):
        create(
            "x", {"base_url": "http://h/v1", "flavour": "openai", "structured_output": "structured_outputs"}
        )
    monkeypatch.delenv("ALIGN_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="ALIGN_TEST_KEY"):
        create("x", {"base_url": "http://h/v1", "api_key_env": "ALIGN_TEST_KEY"})


def test_capabilities_and_defaults_per_flavour():
    server = create("s", {"base_url": "http://h/v1/", "flavour": "llamacpp-server"})
    assert server.options.base_url == "http://h/v1"
    assert server.capabilities == CAPABILITIES["llamacpp-server"]
    assert not server.capabilities.samples and server.capabilities.label_logprobs
    assert not server.capabilities.concurrent
    assert server.options.concurrency() == 1 and server.options.folds_system()
    vllm = create("v", {"base_url": "http://h/v1"})
    assert vllm.options.flavour == "vllm"
    assert vllm.capabilities.samples and vllm.capabilities.concurrent and vllm.capabilities.label_logprobs
    assert vllm.options.concurrency() == 8 and not vllm.options.folds_system()
    assert not create("o", {"base_url": "http://h/v1", "flavour": "openai"}).capabilities.label_logprobs


# -- transport: an in-memory HTTP server ----------------------------------------------------


def chat_reply(*contents: str, logprobs=None) -> dict:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": i,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": c},
                "logprobs": logprobs,
            }
            for i, c in enumerate(contents)
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


class Script:
    """Answers requests in order from a list of (status, json) or callables; records the bodies."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else {}
        self.requests.append((request.url.path, body))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            return answer(request)
        status, payload = answer
        return httpx2.Response(status, json=payload)


def backbone_with(script: Script, **options) -> tuple[OpenAICompatBackbone, list[float]]:
    opts = OpenAIOptions(base_url="http://fake/v1", **{"max_retries": 2, "backoff_s": 0.1, **options})
    backbone = OpenAICompatBackbone(
        "fake-server", opts, "key", http_client=httpx2.Client(transport=httpx2.MockTransport(script))
    )
    sleeps: list[float] = []
    backbone.sleep = sleeps.append
    return backbone, sleeps


def test_model_is_looked_up_once_from_models_list():
    script = Script(
        (
            200,
            {"object": "list", "data": [{"id": "first", "object": "model", "created": 0, "owned_by": "x"}]},
        ),
        (200, chat_reply("one")),
    )
    backbone, _ = backbone_with(script)
    assert backbone.execute(req()).texts == ["one"]
    assert backbone.execute(req()).texts == ["one"]
    assert [p for p, _ in script.requests] == ["/v1/models", "/v1/chat/completions", "/v1/chat/completions"]
    assert script.requests[1][1]["model"] == "first"


def test_samples_loop_with_consecutive_seeds_where_n_is_ignored():
    script = Script((200, chat_reply("x")))
    backbone, _ = backbone_with(script, model="m", flavour="llamacpp-server")
    result = backbone.execute(req(n=3, seed=40, json_schema=SCHEMA))
    assert result.texts == ["x", "x", "x"]
    assert [body["seed"] for _, body in script.requests] == [40, 41, 42]
    assert all("n" not in body for _, body in script.requests)
    assert (
        result.usage.calls == 3 and result.usage.prompt_tokens == 33 and result.usage.completion_tokens == 9
    )
    assert result.seconds > 0


def test_samples_in_one_call_for_vllm():
    script = Script((200, chat_reply("a", "b", "c")))
    backbone, _ = backbone_with(script, model="m")
    assert backbone.execute(req(n=3, seed=1)).texts == ["a", "b", "c"]
    assert len(script.requests) == 1 and script.requests[0][1]["n"] == 3


def test_label_logprobs_from_chat_logprobs():
    top = [{"token": "B", "logprob": -0.2, "bytes": None}, {"token": "A", "logprob": -1.9, "bytes": None}]
    content = [{"token": "B", "logprob": -0.2, "bytes": None, "top_logprobs": top}]
    script = Script((200, chat_reply("B", logprobs={"content": content})))
    backbone, _ = backbone_with(script, model="m")
    result = backbone.execute(req(label_logprobs=["A", "B"], prefill="The answer is ("))
    assert result.label_logprobs == {"A": -1.9, "B": -0.2}
    assert result.texts == []


def test_5xx_is_retried_with_exponential_backoff_then_succeeds():
    script = Script(
        (503, {"error": {"message": "loading"}}), (500, {"error": "boom"}), (200, chat_reply("ok"))
    )
    backbone, sleeps = backbone_with(script, model="m")
    assert backbone.execute(req()).texts == ["ok"]
    assert sleeps == [0.1, 0.2]


def test_5xx_after_all_retries_is_a_backbone_error_with_the_server_message():
    script = Script((500, {"error": {"message": "json_schema is not supported"}}))
    backbone, sleeps = backbone_with(script, model="m", max_retries=1)
    with pytest.raises(BackboneError, match=r"HTTP 500 \(2 attempts\): json_schema is not supported") as info:
        backbone.execute(req())
    assert not isinstance(info.value, BackboneUnavailable)
    assert len(script.requests) == 2 and sleeps == [0.1]


def test_4xx_is_not_retried():
    script = Script((400, {"error": {"message": "max_tokens is too large"}}))
    backbone, sleeps = backbone_with(script, model="m")
    with pytest.raises(BackboneError, match=r"HTTP 400 .*max_tokens is too large"):
        backbone.execute(req())
    assert len(script.requests) == 1 and sleeps == []


def test_connection_errors_become_backbone_unavailable():
    def refuse(request):
        raise httpx2.ConnectError("Connection refused", request=request)

    script = Script(refuse)
    backbone, sleeps = backbone_with(script, model="m")
    with pytest.raises(
        BackboneUnavailable, match="cannot reach backbone 'fake-server' at http://fake/v1"
    ) as info:
        backbone.execute(req())
    assert "start the server or fix base_url" in str(info.value)
    assert len(script.requests) == 3 and sleeps == [0.1, 0.2]


def test_not_json_answer_is_a_clear_error():
    script = Script(
        lambda r: httpx2.Response(200, text="<html>proxy error</html>", headers={"content-type": "text/html"})
    )
    backbone, _ = backbone_with(script, model="m")
    with pytest.raises(BackboneError, match="not an OpenAI response"):
        backbone.execute(req())


def test_garbage_text_goes_through_ask_structured_to_invalid_model_output():
    script = Script((200, chat_reply("I think the answer is probably B!!")))
    backbone, _ = backbone_with(script, model="m", flavour="llamacpp-server")
    with pytest.raises(InvalidModelOutput, match="no valid answer after 3 attempts"):
        ask_structured(backbone, MESSAGES, ChoiceAnswer, SCHEMA, retries=2, seed=1)
    assert len(script.requests) == 3
    assert [b["seed"] for _, b in script.requests] == [1, 1001, 2001]
