"""Instruct models: labels as instruct models write them, ChatML prompts, the schema asked in words,
the default decider per backbone, and the backbone tables `align models add` writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from alignment.algorithms.regression import _Answer
from alignment.backbone import GenerationRequest
from alignment.errors import ConfigError
from alignment.models import Message
from alignment.prompts import read_label
from assistant.backbones.openai.backbone import parse_options
from assistant.backbones.openai.requests import build_chat_body, build_completion_body, render_prompt
from assistant.cli.models import write_backbones
from assistant.instruct_models import CATALOG, backbone_tables
from assistant.settings import Settings

LABELS = ["A", "B", "C"]
CHOICES = ["Treat the bystander", "Treat the attacker", "Wait"]


@pytest.mark.parametrize(
    ("written", "label"),
    [
        ("B", "B"),
        (" b ", "B"),
        ("(B)", "B"),
        ("B)", "B"),
        ("B.", "B"),
        ("Option B", "B"),
        ("choice: C", "C"),
        ("B) Treat the attacker", "B"),
        ("treat the attacker", "B"),
        ("Wait", "C"),
        ("D", None),
        ("Bystander", None),
        ("", None),
    ],
)
def test_read_label(written, label):
    assert read_label(written, LABELS, CHOICES) == label


def test_regression_answer_keys_read_as_letters():
    answer = _Answer.model_validate(
        {"(A)": {"reasoning": "r", "x": 1}, "Option B": {"reasoning": "s", "x": 2}}
    )
    assert set(answer.root) == {"A", "B"}


MESSAGES = [Message(role="system", content="Be brief."), Message(role="user", content="Pick A or B.")]


def test_chatml_prompt_keeps_the_system_turn_and_opens_the_assistant_turn():
    text = render_prompt(MESSAGES, "chatml", "The answer is (", fold=False)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nPick A or B.<|im_end|>\n"
        "<|im_start|>assistant\nThe answer is ("
    )
    # no system message: Qwen's template adds its default one, so the completion prompt does too
    bare = render_prompt(MESSAGES[1:], "chatml", fold=False)
    assert bare.startswith("<|im_start|>system\nYou are Qwen")


def test_chatml_completion_stops_at_its_end_of_turn():
    request = GenerationRequest(messages=MESSAGES, prefill="The answer is (A), because", max_tokens=20)
    body = build_completion_body(request, model="m", prompt_format="chatml", fold=False)
    assert body["stop"] == ["<|im_end|>"]
    assert "<start_of_turn>" not in body["prompt"]


def test_schema_in_words_replaces_the_constraint():
    schema = {"type": "object", "properties": {"choice": {"enum": ["A", "B"]}}}
    request = GenerationRequest(messages=MESSAGES, json_schema=schema, max_tokens=50)
    body = build_chat_body(request, model="m", flavour="llamacpp-server", fold=False, structured_via="prompt")
    assert "response_format" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][-1]["content"].startswith("Pick A or B.")
    assert '"enum":["A","B"]' in body["messages"][-1]["content"]
    assert request.messages[-1].content == "Pick A or B."  # the request itself is untouched


def test_fold_system_defaults_by_prompt_format():
    gemma = parse_options("g", {"base_url": "http://x/v1", "flavour": "llamacpp-server"})
    chatml = parse_options(
        "q", {"base_url": "http://x/v1", "flavour": "llamacpp-server", "prompt_format": "chatml"}
    )
    assert gemma.folds_system() and not chatml.folds_system()


def test_default_decider_per_backbone():
    settings = Settings(
        backbones={
            "qwen": {"type": "openai", "base_url": "http://x/v1", "instruct": True},
            "own": {
                "type": "openai",
                "base_url": "http://x/v1",
                "instruct": True,
                "default_decider": "persona-greedy",
            },
        }
    )
    assert "embedded" in settings.backbones  # a config's own backbones keep the embedded model
    assert settings.decider_for(None) == settings.default_decider == "aligned"
    assert settings.decider_for("embedded") == "aligned"
    assert settings.decider_for("qwen") == settings.instruct_decider
    assert settings.decider_for("own") == "persona-greedy"
    # instruct and default_decider are the settings' own keys, not options of the backbone type
    assert "instruct" not in settings.backbones["qwen"].options()
    with pytest.raises(ValueError, match="default_decider 'nope'"):
        Settings(backbones={"q": {"type": "openai", "base_url": "http://x/v1", "default_decider": "nope"}})


def test_the_measured_default_is_value_fit_on_base_and_instruct_backbones_alike():
    """The built-in choice (docs/results/instruct.md): value-fit whether the backbone follows
    instructions or not; a configuration changes the instruct default alone."""
    qwen = {"type": "openai", "base_url": "http://x/v1", "instruct": True}
    settings = Settings(backbones={"qwen": qwen})
    assert settings.decider_for("embedded") != settings.decider_for("qwen")  # two names, one choice today
    for backbone in ("embedded", "qwen"):
        assert settings.deciders[settings.decider_for(backbone)].algorithm == "value-fit"
    mine = Settings(backbones={"qwen": qwen}, deciders={"aligned-instruct": {"algorithm": "persona"}})
    assert mine.deciders[mine.decider_for("qwen")].algorithm == "persona"
    assert mine.deciders[mine.decider_for("embedded")].algorithm == "value-fit"
    assert mine.deciders[mine.decider_for(None)].algorithm == "value-fit"


def test_written_backbones_read_back_and_replace_their_old_tables(tmp_path: Path):
    config = tmp_path / "align.toml"
    config.write_text('seed = 3\n\n[backbones.mine]\ntype = "llamacpp"\n')
    model = CATALOG["qwen-coder-0.5b"]
    path = tmp_path / "models" / model.file_name
    write_backbones(config, backbone_tables(model, path, port=8001))
    write_backbones(config, backbone_tables(model, path, port=8002))  # again: replaced, not doubled
    data = tomllib.loads(config.read_text())
    assert data["seed"] == 3 and data["backbones"]["mine"] == {"type": "llamacpp"}
    openai_table = data["backbones"]["qwen-coder-0.5b"]
    assert openai_table["base_url"] == "http://127.0.0.1:8002/v1"
    assert openai_table["structured_output"] == "prompt" and openai_table["prompt_format"] == "chatml"
    assert data["backbones"]["qwen-coder-0.5b-local"]["model_path"] == str(path)
    assert config.read_text().count('[backbones."qwen-coder-0.5b"]') == 1
    # the tables build backbones as the settings read them
    settings = Settings(backbones=data["backbones"])
    assert settings.decider_for("qwen-coder-0.5b") == settings.instruct_decider
    parse_options("qwen-coder-0.5b", settings.backbones["qwen-coder-0.5b"].options())


def test_a_broken_config_is_not_overwritten(tmp_path: Path):
    config = tmp_path / "align.toml"
    config.write_text("seed = = 3\n")
    model = CATALOG["qwen-coder-0.5b"]
    with pytest.raises(ConfigError, match="not valid TOML"):
        write_backbones(config, backbone_tables(model, tmp_path / "m.gguf"))
    assert config.read_text() == "seed = = 3\n"


def test_an_echoed_schema_shape_is_read_as_its_answer():
    from alignment.structured import unwrap_schema_echo

    schema = {"type": "object", "properties": {"A": {}, "B": {}}, "required": ["A", "B"]}
    echoed = {"type": "object", "properties": {"A": {"x": 1}, "B": {"x": 2}}}
    assert unwrap_schema_echo(echoed, schema) == {"A": {"x": 1}, "B": {"x": 2}}
    plain = {"A": {"x": 1}, "B": {"x": 2}}
    assert unwrap_schema_echo(plain, schema) is plain
    assert unwrap_schema_echo({"type": "object", "properties": {"A": 1}}, schema)["type"] == "object"


def test_an_object_followed_by_more_text_is_read_as_that_object():
    """The 0.5B model's regression answer on a triage item: the scores, then a second object (its
    reading of the schema's "required"); before, the whole was one invalid JSON text and every
    attempt failed."""
    from alignment.structured import parse_json_object

    answer = '{"A": {"care": 10}, "B": {"care": 0}}\n{"required": ["A", "B"]}'
    assert parse_json_object(answer) == {"A": {"care": 10}, "B": {"care": 0}}
    assert parse_json_object('{"A": 1} and {"B": 2}') == {"A": 1}
    with pytest.raises(ValueError):
        parse_json_object('{"A": 1, "B": }')  # a broken object is still refused


def test_a_quotation_inside_a_string_is_read_as_the_model_meant_it():
    """Small instruct models quote inside their reasoning without the backslash; greedy retries wrote
    the same text again, so persona-vote and regression failed such items on every attempt."""
    from alignment.structured import parse_json_object

    answer = '{"reasoning": "He said "go" now and called it "the safe one" twice", "choice": "A"}'
    assert parse_json_object(answer) == {
        "reasoning": 'He said "go" now and called it "the safe one" twice',
        "choice": "A",
    }
    fenced = '```json\n{\n  "A": {"reasoning": "the "safe" one", "score": 3},\n  "B": {"score": 5}\n}\n```'
    assert parse_json_object(fenced) == {"A": {"reasoning": 'the "safe" one', "score": 3}, "B": {"score": 5}}
    # the 0.5B model's persona-vote answer on an ADEPT item, the same on every attempt: the reasoning's
    # closing quote is missing before the next key
    unclosed = '{"reasoning":"A set off the bomb. Medical need alone,"choice":"A"}'
    assert parse_json_object(unclosed) == {
        "reasoning": "A set off the bomb. Medical need alone",
        "choice": "A",
    }
    # a quote that ends a key or a value as JSON's own is not touched: the first error is reported
    for broken in ('{"a": 1 "b": 2}', '{"a" 1}', '{"choice": "A" "reasoning": "x"}'):
        with pytest.raises(ValueError, match="Expecting"):
            parse_json_object(broken)
