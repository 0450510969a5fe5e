"""The ``langchain`` backbone without a server: options and their errors, and the json_schema path of a
chat model whose class offers ``with_structured_output(method="json_schema")`` (a small LangChain chat
model written here, which answers by the schema it is given). Against a real provider (ChatOpenAI on
llama-cpp-python's server): tests/integration/test_langchain_backbone.py."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableLambda

from alignment.algorithms import DecisionContext, create_algorithm
from alignment.backbone import GenerationRequest
from alignment.errors import ConfigError, InputError, NotImplementedFeature
from alignment.models import AlignmentTarget, Message, Scenario
from alignment.structured import ChoiceAnswer, ask_structured
from assistant.backbones import build_backbone
from assistant.backbones.langchain.backbone import create, schema_prompt
from assistant.settings import Settings

SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "choice": {"type": "string", "enum": ["A", "B"]}},
    "required": ["reasoning", "choice"],
}


SEEN: list[dict[str, Any]] = []  # what the models were asked (copies of a model share it)


class SchemaModel(BaseChatModel):
    """Answers "B" in JSON when asked through json_schema; plain text otherwise. Records what it saw."""

    temperature: float = 0.0
    max_tokens: int | None = None
    extra_body: dict[str, Any] | None = None

    @property
    def _llm_type(self) -> str:
        return "schema-model"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        SEEN.append(
            {
                "messages": [(m.type, m.content) for m in messages],
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "extra_body": self.extra_body,
                "stop": stop,
            }
        )
        message = AIMessage(
            content="plain answer", usage_metadata={"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def with_structured_output(
        self,
        schema: Any,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "json_schema",
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Any:
        assert method == "json_schema" and schema["title"]
        model = self  # the copy the backbone made for this request

        def answer(messages: Any) -> dict[str, Any]:
            SEEN.append({"schema": schema, "temperature": model.temperature})
            raw = AIMessage(
                content=json.dumps({"reasoning": "fits", "choice": "B"}),
                usage_metadata={"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
            )
            return {"raw": raw, "parsed": json.loads(str(raw.content)), "parsing_error": None}

        return RunnableLambda(answer)


class PlainModel(SchemaModel):
    """A class without a json_schema method of its own (LangChain's default signature)."""

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
        raise AssertionError("not to be called")


HERE = __name__  # this module, as pytest imported it


def backbone(cls: str = "SchemaModel", **options: Any) -> Any:
    SEEN.clear()
    return create("lc", {"class": f"{HERE}:{cls}", **options})


def test_json_schema_through_the_models_own_structured_output():
    lc = backbone(options={"temperature": 0.3})
    assert lc.capabilities.json_schema and not lc.capabilities.label_logprobs and not lc.capabilities.samples
    reply = ask_structured(lc, [Message(role="user", content="pick")], ChoiceAnswer, SCHEMA, temperature=0.9)
    assert reply.answers[0].choice == "B" and reply.usage.completion_tokens == 3
    seen = SEEN[-1]
    assert seen["schema"]["title"] == "answer" and seen["temperature"] == 0.9  # per request, on a copy
    assert lc.model.temperature == 0.3  # the configured model itself is unchanged
    assert lc.structured_via == "auto"


def test_without_json_schema_the_schema_goes_in_the_prompt_and_settings_per_request():
    lc = backbone(
        "PlainModel",
        options={"extra_body": {"keep": 1}},
        per_request={"max_tokens": "extra_body.max_tokens", "temperature": "temperature"},
        fold_system=True,
    )
    assert lc.structured_via == "prompt" and not lc.capabilities.json_schema and not lc.capabilities.seeded
    messages = [Message(role="system", content="be brief"), Message(role="user", content="pick")]
    result = lc.execute(GenerationRequest(messages=messages, json_schema=SCHEMA, max_tokens=17, stop=["\n"]))
    assert result.texts == ["plain answer"] and result.usage.prompt_tokens == 7
    seen = SEEN[-1]
    assert seen["extra_body"] == {"keep": 1, "max_tokens": 17} and seen["stop"] == ["\n"]
    # the system text (with the schema) folded into the one user turn
    assert seen["messages"] == [("human", "be brief\n\n" + schema_prompt(SCHEMA) + "\n\npick")]


def test_a_schema_setting_constrains_through_the_model_and_the_prompt():
    lc = backbone(
        "PlainModel",
        options={"extra_body": {"response_format": {"type": "json_object"}}},
        per_request={"json_schema": "extra_body.response_format.schema", "seed": "extra_body.seed"},
    )
    assert lc.structured_via == "setting" and lc.capabilities.json_schema and lc.capabilities.seeded
    lc.execute(GenerationRequest(messages=[Message(role="user", content="pick")], json_schema=SCHEMA, seed=4))
    assert SEEN[-1]["extra_body"] == {
        "response_format": {"type": "json_object", "schema": SCHEMA},
        "seed": 4,
    }
    assert lc.model.extra_body == {"response_format": {"type": "json_object"}}  # untouched


def test_what_langchain_cannot_give_is_said_plainly():
    lc = backbone()
    with pytest.raises(NotImplementedFeature, match="label log-probabilities"):
        lc.execute(GenerationRequest(messages=[Message(role="user", content="x")], label_logprobs=["A", "B"]))
    context = DecisionContext(
        scenario=Scenario(text="Which one?", choices=["this", "that"]),
        target=AlignmentTarget(values={"fairness": 0.8}),
    )
    with pytest.raises(InputError, match="cannot give log-probabilities; use another algorithm"):
        create_algorithm("likelihood").run(context, lc)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"class": "langchain_anthropic:ChatAnthropic"}, "not installed .*pip install langchain-anthropic"),
        ({"class": "langchain_core.messages:HumanMessage"}, "not a LangChain chat model"),
        ({"class": f"{HERE}:NoSuchClass"}, "is not found"),
        ({"class": "ChatOpenAI"}, "is not 'module:ChatClass'"),
        ({"class": f"{HERE}:PlainModel", "per_request": {"top_p": "top_p"}}, "per_request sets"),
        ({"class": f"{HERE}:PlainModel", "per_request": {"seed": "seed"}}, "has no setting 'seed'"),
        ({"class": f"{HERE}:PlainModel", "options": {"temperature": "hot"}}, "refused its options"),
        ({"class": f"{HERE}:PlainModel", "options_env": {"api_key": "ALIGN_TEST_NO_SUCH_VAR"}}, "is not set"),
        (
            {
                "class": f"{HERE}:SchemaModel",
                "structured_output": "json_schema",
                "per_request": {"json_schema": "extra_body.s"},
            },
            "choose one",
        ),
    ],
)
def test_configuration_errors_say_what_to_fix(options, message):
    with pytest.raises(ConfigError, match=message):
        create("lc", options)


def test_the_type_is_built_in_from_the_settings():
    settings = Settings(
        backbones={
            "embedded": {"type": "llamacpp"},
            "lc": {"type": "langchain", "class": f"{HERE}:SchemaModel", "options": {"max_tokens": 5}},
        }
    )
    built = build_backbone("lc", settings)
    assert built.name == "lc" and built.model.max_tokens == 5


def test_the_health_check_builds_the_model_without_calling_it():
    import httpx

    from assistant.backbones.health import check_backbone

    SEEN.clear()
    with httpx.Client() as client:
        good = check_backbone("lc", "langchain", {"class": f"{HERE}:SchemaModel"}, client=client, timeout_s=1)
        missing = check_backbone(
            "lc", "langchain", {"class": "langchain_anthropic:ChatAnthropic"}, client=client, timeout_s=1
        )
    assert good.ok and good.checked and "builds" in good.detail and SEEN == []  # nothing was asked
    assert not missing.ok and "pip install langchain-anthropic" in missing.detail
