"""The openai backbone against a REAL OpenAI-compatible server: llama-cpp-python's own server with the
embedded Gemma GGUF (flavour llamacpp-server), plus tiny local HTTP servers that are down, slow or
answer garbage. The server runs one request at a time, so max_tokens stay small."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alignment.algorithms import DecisionContext, create_algorithm
from alignment.algorithms.likelihood import ANSWER_PREFILL
from alignment.backbone import GenerationRequest
from alignment.errors import BackboneError, BackboneUnavailable, InvalidModelOutput
from alignment.models import Decision, Message, Scenario
from assistant.backbones.openai.backbone import OpenAICompatBackbone, create
from tests.helpers.backbones import SCENARIO, TARGET
from tests.helpers.cli import align_json, decide_args, run_align
from tests.helpers.llama_server import LlamaServer, free_port
from tests.helpers.local_http import LocalHTTPServer, QuietHandler

pytestmark = pytest.mark.server

ALGORITHMS: list[tuple[str, dict]] = [
    ("unaligned", {"max_tokens": 120}),
    ("random", {}),
    ("persona", {"max_tokens": 120}),
    ("persona-vote", {"n_aligned": 2, "n_opposite": 1, "max_tokens": 120}),
    ("likelihood", {"justification_tokens": 16}),
]


@pytest.fixture(scope="module")
def backbone(llama_server: LlamaServer) -> Iterator[OpenAICompatBackbone]:
    built = create(
        "local-server",
        {"base_url": llama_server.base_url, "flavour": "llamacpp-server", "timeout_s": 120},
    )
    yield built
    built.close()


def assert_valid(decision: Decision, scenario: Scenario = SCENARIO) -> None:
    assert 0 <= decision.choice_index < len(scenario.choices)
    assert decision.choice == scenario.choices[decision.choice_index]
    assert decision.justification.strip()
    assert [s.choice for s in decision.scores] == scenario.choices


# -- every algorithm on the real server ------------------------------------------------------


@pytest.mark.parametrize(("name", "params"), ALGORITHMS, ids=[a for a, _ in ALGORITHMS])
def test_every_algorithm_on_the_real_server(backbone, name, params):
    context = DecisionContext(scenario=SCENARIO, target=TARGET, seed=3)
    decision = create_algorithm(name, **params).run(context, backbone)
    assert_valid(decision)
    assert decision.algorithm == name
    if name == "random":
        return
    assert decision.backbone == "local-server"
    assert decision.usage.calls >= 1
    assert decision.usage.prompt_tokens > 50  # counted by the server
    assert decision.timings["backbone_s"] > 0
    if name == "likelihood":
        probs = [s.score for s in decision.scores]
        assert sum(probs) == pytest.approx(1.0)
        assert all(s.attributes["logprob"] < 0 for s in decision.scores)
    if name == "persona-vote":
        assert len(decision.extra["aligned_picks"]) == 2
        assert len(decision.extra["opposite_picks"]) == 1


def test_same_seed_same_decision(backbone):
    algorithm = create_algorithm("persona", temperature=0.9, max_tokens=120)
    context = DecisionContext(scenario=SCENARIO, target=TARGET, seed=11)
    first = algorithm.run(context, backbone)
    second = algorithm.run(context, backbone)
    assert_valid(first)
    assert (second.choice_index, second.justification) == (first.choice_index, first.justification)


# -- label log-probabilities and the prefill -------------------------------------------------


def test_prefill_is_honoured_for_label_logprobs_and_text(backbone):
    messages = [
        Message(role="system", content="Answer the question."),
        Message(
            role="user", content="Which is heavier? (A) an elephant (B) a mouse. Answer with the letter."
        ),
    ]

    def label_mass(prefill: str) -> float:
        result = backbone.execute(
            GenerationRequest(messages=messages, label_logprobs=["A", "B"], prefill=prefill)
        )
        assert result.label_logprobs is not None and set(result.label_logprobs) == {"A", "B"}
        assert result.usage.calls == 1 and result.usage.prompt_tokens > 20
        return sum(math.exp(v) for v in result.label_logprobs.values())

    # After "The answer is (" the labels are the likely next tokens; at the start of the turn they are not.
    with_prefill, without = label_mass(ANSWER_PREFILL), label_mass("")
    assert with_prefill > 0.5
    assert without < with_prefill / 2
    # The same prefill in plain generation: the model continues it, so the first token is a label.
    text = backbone.execute(
        GenerationRequest(messages=messages, prefill=ANSWER_PREFILL, max_tokens=1, temperature=0.0)
    ).texts[0]
    assert text.strip() in {"A", "B"}


def test_vllm_request_options_are_accepted_by_the_stand_in(llama_server):
    """vLLM's fields (continue_final_message / add_generation_prompt for a prefill, structured_outputs
    for a schema): the llama server accepts such requests (it ignores fields it does not know), so
    the vLLM request path runs end to end here; honouring the fields is vLLM's part."""
    options = {"base_url": llama_server.base_url, "flavour": "vllm", "fold_system": True}
    vllm = create("vllm-like", options)
    via_field = create("vllm-structured-outputs", {**options, "structured_output": "structured_outputs"})
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}, "required": ["a"]}
    try:
        continued = vllm.execute(
            GenerationRequest(
                messages=[Message(role="user", content="Say yes.")], prefill="Yes", max_tokens=2
            )
        )
        structured = via_field.execute(
            GenerationRequest(
                messages=[Message(role="user", content="Say yes.")], json_schema=schema, max_tokens=2
            )
        )
    finally:
        vllm.close()
        via_field.close()
    for result in (continued, structured):
        assert len(result.texts) == 1 and result.usage.calls == 1 and result.usage.completion_tokens >= 1


def test_json_schema_response_format_is_refused_by_the_llama_server(llama_server):
    """Why the flavour exists: the llama server answers json_schema with HTTP 500 (not retried forever)."""
    wrong = create(
        "wrong-flavour",
        {"base_url": llama_server.base_url, "flavour": "vllm", "max_retries": 0, "fold_system": True},
    )
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}, "required": ["a"]}
    try:
        with pytest.raises(BackboneError, match="HTTP 500"):
            wrong.execute(
                GenerationRequest(
                    messages=[Message(role="user", content="Hi")], json_schema=schema, max_tokens=8
                )
            )
    finally:
        wrong.close()


# -- servers that are down, slow, or answer garbage ------------------------------------------


class TinyServer:
    """A local HTTP server answering every POST with ``respond(path, body) -> (status, payload)``."""

    def __init__(self, respond: Callable[[str, dict], tuple[int, object]], delay_s: float = 0.0) -> None:
        self.requests: list[str] = []
        self.release = threading.Event()
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append(self.path)
                if delay_s:
                    outer.release.wait(delay_s)
                status, payload = respond(self.path, body)
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                with contextlib.suppress(OSError):  # the client gave up (timeout): nothing to answer
                    self.reply(status, "application/json", data)

        self.server = LocalHTTPServer(Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/v1"

    def __enter__(self) -> TinyServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.stop()


def chat_completion(content: str) -> dict:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
    }


def test_server_down_is_backbone_unavailable_fast():
    url = f"http://127.0.0.1:{free_port()}/v1"
    down = create("local-server", {"base_url": url, "flavour": "llamacpp-server", "backoff_s": 0.05})
    start = time.monotonic()
    with pytest.raises(BackboneUnavailable) as info:
        create_algorithm("persona").run(DecisionContext(scenario=SCENARIO, target=TARGET), down)
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert f"cannot reach backbone 'local-server' at {url}" in message
    assert "(3 attempts)" in message and "start the server or fix base_url" in message
    assert elapsed < 3.0  # 2 retries with 0.05 s and 0.1 s backoff


def test_slow_server_beyond_timeout_is_a_clear_error():
    with TinyServer(
        lambda path, body: (200, chat_completion('{"reasoning": "r", "choice": "A"}')), delay_s=5
    ) as slow:
        backbone = create(
            "slow",
            {"base_url": slow.base_url, "model": "m", "timeout_s": 0.5, "max_retries": 1, "backoff_s": 0.05},
        )
        start = time.monotonic()
        with pytest.raises(
            BackboneUnavailable, match=r"did not answer POST /chat/completions within timeout_s=0\.5 s"
        ):
            backbone.execute(GenerationRequest(messages=[Message(role="user", content="hi")]))
        elapsed = time.monotonic() - start
        backbone.close()
    assert len(slow.requests) == 2  # first try + one retry
    assert elapsed < 3.0


def test_garbage_answers_end_in_invalid_model_output_after_bounded_retries():
    with TinyServer(lambda path, body: (200, chat_completion("lorem ipsum, no JSON here }{"))) as garbage:
        backbone = create(
            "garbage", {"base_url": garbage.base_url, "model": "m", "flavour": "llamacpp-server"}
        )
        context = DecisionContext(scenario=SCENARIO, target=TARGET, seed=1)
        with pytest.raises(InvalidModelOutput, match="no valid answer after 3 attempts"):
            create_algorithm("persona", retries=2).run(context, backbone)
        backbone.close()
    assert garbage.requests == ["/v1/chat/completions"] * 3


def test_a_body_that_is_not_json_is_a_clear_backbone_error():
    with TinyServer(lambda path, body: (200, "<html>502 bad gateway</html>")) as broken:
        backbone = create("broken", {"base_url": broken.base_url, "model": "m"})
        with pytest.raises(BackboneError, match="not an OpenAI response"):
            backbone.execute(GenerationRequest(messages=[Message(role="user", content="hi")]))
        backbone.close()


# -- the backbone's own health check --------------------------------------------------------------


def test_health_check_uses_the_backbones_key_on_a_real_server(monkeypatch):
    """The openai type checks itself (``align health``, /healthz) against a llama server that wants a
    key: the key the backbone resolves from api_key_env is accepted; the default key is refused."""
    import httpx

    from assistant.backbones.health import check_backbone
    from assistant.models_local import embedded_model_path

    model = embedded_model_path()
    monkeypatch.setenv("HEALTH_TEST_KEY", "k-health-1")
    server = LlamaServer(model, api_key="k-health-1", n_ctx=256)
    options = {"base_url": server.base_url, "api_key_env": "HEALTH_TEST_KEY"}
    with httpx.Client() as client:

        def check(**changed: object):
            return check_backbone("keyed", "openai", {**options, **changed}, client=client, timeout_s=10)

        with server:
            assert check() == check(model=str(model))
            assert check().ok and check().detail == f"backbone 'keyed' serves {model}"
            refused = check(api_key_env=None)  # the backbone would send "EMPTY"
            assert not refused.ok and "HTTP 401" in refused.detail and "API key" in refused.detail
            other = check(model="gpt-9")
            assert not other.ok and f"serves {model}, not 'gpt-9'" in other.detail
        down = check()
        assert not down.ok and "start the model server" in down.detail


# -- the CLI end to end -------------------------------------------------------------------------


def write_config(tmp_path: Path, base_url: str) -> Path:
    config = tmp_path / "align-test.toml"
    config.write_text(
        "[backbones.embedded]\n"
        'type = "llamacpp"\n'
        "[backbones.local-server]\n"
        'type = "openai"\n'
        'flavour = "llamacpp-server"\n'
        f'base_url = "{base_url}"\n'
        "backoff_s = 0.05\n"
    )
    return config


def align_env(config: Path, tmp_path: Path) -> dict[str, str]:
    """``align``'s settings here: ``config`` (the embedded backbone and the server) and a data folder."""
    return {"ALIGN_CONFIG": str(config), "ALIGN_DATA_DIR": str(tmp_path / "data")}


DECIDE = decide_args(SCENARIO, "--target", "moral_deservingness=0.9", "--backbone", "local-server")


def test_cli_decide_on_the_server(llama_server, tmp_path):
    config = write_config(tmp_path, llama_server.base_url)
    decision = align_json(
        [*DECIDE, "--algorithm", "persona", "--param", "max_tokens=120", "--seed", "5", "--json"],
        cwd=tmp_path,
        env=align_env(config, tmp_path),
    )
    assert decision["backbone"] == "local-server"
    assert decision["algorithm"] == "persona"
    assert decision["choice"] in SCENARIO.choices
    assert decision["choice"] == SCENARIO.choices[decision["choice_index"]]
    assert decision["usage"]["calls"] >= 1


def test_cli_with_the_server_down_is_one_clear_line(tmp_path):
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    out = run_align([*DECIDE, "--algorithm", "persona"], cwd=tmp_path, env=align_env(config, tmp_path))
    assert out.returncode == 2
    assert "cannot reach backbone 'local-server'" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
