"""``align bench backbone``: how much the decision pipeline costs over raw llama-cpp-python.

Each run measures, on the same rendered prompt:

- ``pipeline_over_raw``: one full ``persona`` decision through the DecisionService (cold KV
  cache) divided by raw llama-cpp-python (``Llama.eval`` + ``Llama.generate``, greedy) on that
  prompt for the same number of output tokens. Target <= 1.10.
- ``structured_over_unconstrained``: tokens/s of a schema-valid decision (schema-guided decoding)
  divided by tokens/s of unconstrained raw generation, both after the prompt is evaluated.
  Target >= 0.75.
- ``pipeline_over_raw_chosen_tokens``: the same, but raw generates only the tokens the model
  chose (free text and the choice), not the fixed JSON syntax: an upper bound on the overhead.
- for comparison: prompt evaluation tokens/s, llama.cpp's JSON-schema grammar tokens/s, and the
  time of one label log-probability request (cold cache, no ``logits_all``).

The figures are medians over ``runs``; inside a run every timing is the best of ``repeats``
(other load on a shared machine only ever adds time), and the two sides of each ratio are
measured back to back.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from alignment.backbone import GenerationRequest, GenerationResult
from alignment.errors import AlignError, InputError
from alignment.models import Decision
from alignment.prompts import decision_schema, label_of
from assistant.backbones import get_backbone_type
from assistant.backbones.llamacpp import LLAMACPP
from assistant.backbones.llamacpp.schema_decoding import Decoded, SchemaDecoder
from assistant.decisions.requests import DecideRequest
from assistant.decisions.service import DecisionService

__all__ = ["BENCH_REQUEST", "TARGETS", "run_backbone_bench"]

TARGETS = {"pipeline_over_raw": ("<=", 1.10), "structured_over_unconstrained": (">=", 0.75)}
GRAMMAR_TOKENS = 32  # the grammar sampler is slow: a short run is enough for its speed

BENCH_REQUEST = DecideRequest(
    scenario=(
        "A bus carrying twelve passengers has crashed on a mountain road at night. You are the only "
        "medic. The driver, who caused the crash by speeding, is trapped and bleeding from a leg wound. "
        "A teenage passenger has a head injury and is drifting in and out of consciousness. An elderly "
        "passenger has chest pain. Rescue will arrive in forty minutes and you can treat only one "
        "person properly before then."
    ),
    choices=[
        "Treat the driver, whose bleeding is the most immediately life-threatening",
        "Treat the teenage passenger with the head injury",
        "Treat the elderly passenger with chest pain",
    ],
    target={"fairness": 0.9, "moral_deservingness": 0.8, "utilitarianism": 0.3},
    algorithm="persona",
    seed=0,
)


T = TypeVar("T")


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _raw_generate(llm: Any, tokens: list[int], count: int, *, evaluate: bool = True, **kwargs: Any) -> int:
    """Raw llama-cpp-python: (optionally evaluate the prompt, then) generate ``count`` tokens."""
    if evaluate:
        llm.reset()
    made = 0
    if count <= 0:
        return 0
    for _ in llm.generate(tokens, temp=0.0, **kwargs):
        made += 1
        if made >= count:
            break
    return made


def _best(k: int, fn: Callable[[], tuple[float, T]]) -> tuple[float, T]:
    """Fastest of ``k`` timings (``fn`` prepares, times and returns (seconds, value))."""
    return min((fn() for _ in range(k)), key=lambda pair: pair[0])


def _one_run(
    service: DecisionService, backbone: Any, request: DecideRequest, repeats: int
) -> dict[str, float]:
    """One run. Each timing is the best of ``repeats`` (load on a shared machine only adds time)."""
    llm = backbone.llm
    out: dict[str, float] = {}

    # 1. the whole persona pipeline, cold cache, against raw llama-cpp-python on the same prompt
    def pipeline() -> tuple[float, Decision]:
        backbone.reset_cache()
        return _timed(lambda: service.decide(request))

    pipeline_s, decision = _best(repeats, pipeline)
    prompt = backbone.prompt_tokens(decision.prompts[0])
    calls = max(decision.usage.calls, 1)
    per_call = decision.usage.completion_tokens // calls

    def raw() -> tuple[float, list[int]]:
        backbone.reset_cache()
        return _timed(lambda: [_raw_generate(llm, prompt, per_call) for _ in range(calls)])

    raw_s, _ = _best(repeats, raw)
    out["pipeline_s"] = pipeline_s
    out["raw_s"] = raw_s
    out["pipeline_over_raw"] = pipeline_s / raw_s
    out["prompt_tokens"] = len(prompt)
    out["decision_tokens"] = decision.usage.completion_tokens

    # 2. prompt evaluation (raw, one batch)
    def evaluate() -> tuple[float, object]:
        backbone.reset_cache()
        return _timed(lambda: llm.eval(prompt))

    out["prompt_eval_tps"] = len(prompt) / _best(repeats, evaluate)[0]

    # 3. structured generation through the schema-guided decoder, prompt already evaluated
    schema = decision_schema(len(request.choices))
    plan = backbone.plan(schema)
    assert plan is not None, "the decision schema must compile to a plan"

    def structured() -> tuple[float, Decoded]:
        backbone.reset_cache()
        backbone.context.start(prompt)
        backbone.context.logits()
        decoder = SchemaDecoder(
            backbone.context, plan, rng=np.random.default_rng(0), temperature=0.0, max_tokens=200
        )
        return _timed(decoder.run)

    structured_s, decoded = _best(repeats, structured)
    structured_tokens = max(decoded.tokens, 1)
    out["structured_tokens"] = structured_tokens
    out["structured_tps"] = structured_tokens / structured_s

    # 3b. stricter: raw time for only the tokens the model chose (free text + the choice letter);
    # the pipeline's fixed JSON syntax costs it batched prompt-speed evaluation, raw gets it free
    chosen = decoded.generated + 1

    def raw_chosen() -> tuple[float, int]:
        backbone.reset_cache()
        return _timed(lambda: _raw_generate(llm, prompt, chosen))

    out["pipeline_over_raw_chosen_tokens"] = pipeline_s / _best(repeats, raw_chosen)[0]

    # 4. unconstrained raw generation of as many tokens, prompt already evaluated
    def unconstrained() -> tuple[float, int]:
        backbone.reset_cache()
        llm.eval(prompt)
        return _timed(lambda: _raw_generate(llm, prompt, structured_tokens, evaluate=False))

    free_s, made = _best(repeats, unconstrained)
    out["unconstrained_tps"] = made / free_s
    out["structured_over_unconstrained"] = out["structured_tps"] / out["unconstrained_tps"]

    # 5. llama.cpp's JSON-schema grammar, for comparison (prompt already evaluated; once)
    from llama_cpp import LlamaGrammar

    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    backbone.reset_cache()
    llm.eval(prompt)
    grammar_s, made = _timed(
        lambda: _raw_generate(llm, prompt, GRAMMAR_TOKENS, evaluate=False, grammar=grammar)
    )
    out["grammar_tps"] = made / grammar_s

    # 6. one label log-probability request, cold cache
    label_request = GenerationRequest(
        messages=decision.prompts[0],
        label_logprobs=[label_of(i) for i in range(len(request.choices))],
        prefill="The answer is (",
    )

    def labels() -> tuple[float, GenerationResult]:
        backbone.reset_cache()
        result = backbone.execute(label_request)
        return result.seconds, result

    out["label_logprobs_s"] = _best(repeats, labels)[0]
    backbone.reset_cache()
    return out


def _is_llamacpp(type_name: str) -> bool:
    """Whether the type is the llamacpp one, whose backbones this bench drives below the pipeline."""
    try:
        return get_backbone_type(type_name) is LLAMACPP
    except AlignError:  # not installed, or its plugin does not load: not llamacpp either way
        return False


def run_backbone_bench(
    service: DecisionService,
    *,
    runs: int = 3,
    repeats: int = 2,
    backbone_name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Medians of ``runs`` runs; raises InputError unless the backbone is an in-process llamacpp one."""
    if runs < 1 or repeats < 1:
        raise InputError("--runs and --repeats must be at least 1")
    name = backbone_name or service.settings.default_backbone
    config = service.settings.backbones.get(name)
    if config is None or not _is_llamacpp(config.type):
        kind = config.type if config is not None else "undefined"
        raise InputError(
            f"align bench backbone compares against raw llama-cpp-python, so it needs a llamacpp "
            f"backbone; {name!r} is {kind}. Pass --backbone with a llamacpp backbone"
        )
    backbone = service.backbones.get(name)
    request = BENCH_REQUEST.model_copy(update={"backbone": name})
    service.decide(request)  # warm-up: first-call costs (imports, page faults) are not the pipeline's
    results = []
    for i in range(runs):
        results.append(_one_run(service, backbone, request, repeats))
        if progress is not None:
            r = results[-1]
            progress(
                f"run {i + 1}/{runs}: pipeline/raw {r['pipeline_over_raw']:.3f}, "
                f"structured/unconstrained {r['structured_over_unconstrained']:.3f}"
            )
    summary: dict[str, Any] = {key: statistics.median(r[key] for r in results) for key in results[0]}
    summary["runs"] = runs
    summary["backbone"] = name
    summary["model"] = str(getattr(backbone, "model_path", ""))
    summary["n_threads"] = getattr(getattr(backbone, "options", None), "n_threads", None)
    summary["repeats"] = repeats
    summary["targets"] = {
        key: {
            "target": f"{op} {value}",
            "met": bool(summary[key] <= value if op == "<=" else summary[key] >= value),
        }
        for key, (op, value) in TARGETS.items()
    }
    summary["per_run"] = results
    return summary
