"""Evaluation items and summaries (pure): what to ask, and how to aggregate the answers."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from alignment.examples import normalize_for_match
from alignment.metrics import (
    bootstrap_ci,
    confidence_bins,
    is_distinctive,
    population_choice,
    positional_bias,
    score_item,
    selective_ci,
)

__all__ = [
    "BASELINES",
    "COVERAGE",
    "HOLDOUTS",
    "POPULATION",
    "SPLITS",
    "SPLIT_RULE",
    "EvalItem",
    "EvalResult",
    "RecordLike",
    "items_for_record",
    "parse_targets_spec",
    "population_result",
    "question_key",
    "score_result",
    "split_part",
    "summarise",
    "summary_markdown",
    "with_population",
]

BASELINES = ("unaligned", "random")  # run through the decision service beside every algorithm
POPULATION = "population"  # baseline for OpinionQA items, computed from the other groups' files
HOLDOUTS = ("scenario", "attribute", "group")
COVERAGE = 0.6  # selective accuracy: the accuracy of this share of the most confident decisions
SPLITS = ("dev", "test", "all")
SPLIT_RULE = (
    "per folder, the folder's .json files sorted by name: the 1st, 3rd, 5th... are dev, "
    "the 2nd, 4th, 6th... are test"
)


class RecordLike(Protocol):
    """The fields of a dataset record that evaluation needs (alignment.datasets gives them)."""

    @property
    def text(self) -> str: ...
    @property
    def choices(self) -> list[str]: ...
    @property
    def scores(self) -> list[dict[str, float]]: ...
    @property
    def scenario_id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def domain(self) -> str: ...


class EvalItem(BaseModel):
    """One question under one target."""

    item_id: str
    scenario_id: str
    source: str
    domain: str
    text: str
    choices: list[str]
    scores: list[dict[str, float]]
    target: dict[str, float]
    attribute: str
    direction: str  # "high", "low", "group", or "custom"
    population: int | None = None  # OpinionQA: the other groups' pooled answer (None: nobody else)
    distinctive: bool | None = None  # OpinionQA: the group's top answer is not the population's


class EvalResult(BaseModel):
    """One line of results.jsonl."""

    item_id: str
    algorithm: str
    backbone: str
    source: str
    attribute: str
    direction: str
    target: dict[str, float]
    domain: str | None = None  # the item's (results written before it was kept: None)
    choice_index: int | None = None
    correct: bool | None = None
    valid: bool | None = None
    graded: float | None = None
    picked_top: bool | None = None
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0  # model calls of the decision (more than the algorithm's least: a retried answer)
    scores: list[float | None] = []
    error: str | None = None
    prompt_ids: list[str] = []
    holdout: str = "scenario"
    decider: str | None = None  # set when ``algorithm`` is a decider's label
    n_choices: int = 0
    missing: bool = False  # the population baseline had no other group answering the question
    confidence: float | None = None  # the decision's (alignment/confidence.py)
    confidence_features: dict[str, float] | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.item_id, self.algorithm, self.backbone, self.holdout)


def parse_targets_spec(spec: str) -> dict[str, float]:
    """``high,low`` -> {"high": 1.0, "low": 0.0}; also ``high=0.9,low=0.1``."""
    out: dict[str, float] = {}
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        name, sep, raw = part.partition("=")
        if sep:
            value = float(raw)
        elif name in ("high", "low"):
            value = 1.0 if name == "high" else 0.0
        else:
            raise ValueError(f"target {part!r}: use high, low, or NAME=VALUE")
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"target {part!r}: the value must be in [0, 1]")
        out[name] = value
    if not out:
        raise ValueError("no targets given; use for example --targets high,low")
    return out


def items_for_record(record: RecordLike, targets: dict[str, float] | None = None) -> list[EvalItem]:
    """Triage: a high and a low target for each attribute its choices carry (as align-system).

    OpinionQA: the target is the file's demographic group at 1.0 (its most common answer).
    """
    attributes = sorted({name for s in record.scores for name in s})
    base = {
        "scenario_id": record.scenario_id,
        "source": record.source,
        "domain": record.domain,
        "text": record.text,
        "choices": record.choices,
        "scores": record.scores,
    }
    items = []
    if record.domain == "opinionqa":
        for attribute in attributes:
            items.append(
                EvalItem(
                    item_id=f"{record.source}:{record.scenario_id}:{attribute}:group",
                    target={attribute: 1.0},
                    attribute=attribute,
                    direction="group",
                    **base,
                )
            )
        return items
    for attribute in attributes:
        for direction, value in (targets or {"high": 1.0, "low": 0.0}).items():
            items.append(
                EvalItem(
                    item_id=f"{record.source}:{record.scenario_id}:{attribute}:{direction}",
                    target={attribute: value},
                    attribute=attribute,
                    direction=direction,
                    **base,
                )
            )
    return items


def split_part(folder_names: Sequence[str], name: str) -> str:
    """Which half, "dev" or "test", the file ``name`` is in, given its folder's .json names (SPLIT_RULE)."""
    names = sorted({*folder_names, name})
    return "dev" if names.index(name) % 2 == 0 else "test"


def question_key(text: str, choices: Sequence[str]) -> str:
    """The same survey question in two groups' files: same normalised text, identical choices."""
    return "\x1f".join([normalize_for_match(text), *choices])


def with_population(items: Sequence[EvalItem], records: Iterable[RecordLike]) -> list[EvalItem]:
    """OpinionQA items with their population choice and distinctiveness.

    The population of an item: among ``records`` (every record of the files evaluated), those of
    the same question (``question_key``) from other files that score none of the item's group,
    pooled: the choice with the largest sum of their scores. An item is distinctive when the
    population's choice is not among its group's top answers.
    """
    by_question: dict[str, list[RecordLike]] = defaultdict(list)
    for record in records:
        if record.domain == "opinionqa":
            by_question[question_key(record.text, record.choices)].append(record)
    out = []
    for item in items:
        if item.direction != "group":
            out.append(item)
            continue
        others = [
            [sum(per_choice.values()) for per_choice in r.scores]
            for r in by_question.get(question_key(item.text, item.choices), [])
            if r.source != item.source and not any(item.attribute in per_choice for per_choice in r.scores)
        ]
        population = population_choice(others)
        group = [per_choice.get(item.attribute, 0.0) for per_choice in item.scores]
        out.append(
            item.model_copy(
                update={"population": population, "distinctive": is_distinctive(group, population)}
            )
        )
    return out


def population_result(item: EvalItem, holdout: str = "scenario") -> EvalResult:
    """The population baseline's answer to an OpinionQA item; with no population: not correct, missing."""
    result = EvalResult(
        item_id=item.item_id,
        algorithm=POPULATION,
        backbone="none",
        source=item.source,
        domain=item.domain,
        attribute=item.attribute,
        direction=item.direction,
        target=item.target,
        choice_index=item.population,
        holdout=holdout,
        n_choices=len(item.choices),
    )
    if item.population is not None:
        return score_result(item, result)
    valid = score_item(item.scores, item.target, 0).valid
    return result.model_copy(
        update={"correct": False, "valid": valid, "graded": 0.0, "picked_top": False, "missing": True}
    )


def score_result(item: EvalItem, result: EvalResult) -> EvalResult:
    if result.choice_index is None:
        return result
    s = score_item(item.scores, item.target, result.choice_index)
    return result.model_copy(
        update={"correct": s.correct, "valid": s.valid, "graded": s.graded, "picked_top": s.picked_top}
    )


def _interval(values: Sequence[float], seed: int) -> dict[str, float]:
    ci = bootstrap_ci(values, seed=seed)
    return {"mean": ci.mean, "low": ci.low, "high": ci.high, "n": ci.n}


def _block(sel: list[EvalResult], seed: int) -> dict[str, Any]:
    valid = [r for r in sel if r.valid]
    opinion = [r for r in sel if r.direction == "group"]
    return {
        "n": len(sel),
        "accuracy": _interval([float(bool(r.correct)) for r in sel], seed),
        "accuracy_valid_only": _interval([float(bool(r.correct)) for r in valid], seed),
        "graded": _interval([float(r.graded or 0.0) for r in sel], seed),
        "top_answer_rate": _interval([float(bool(r.picked_top)) for r in opinion], seed) if opinion else None,
    }


def _breakdown(rows: list[EvalResult], field: str, seed: int) -> dict[str, Any]:
    keys = sorted({getattr(r, field) for r in rows})
    return {k: _block([r for r in rows if getattr(r, field) == k], seed) for k in keys}


def _position_bias(rows: list[EvalResult]) -> dict[str, Any]:
    chosen = [
        (r.choice_index, r.n_choices or len(r.scores))
        for r in rows
        if r.choice_index is not None and (r.n_choices or len(r.scores))
    ]
    bias = positional_bias(chosen)
    data = bias.model_dump()
    data["positions"] = {str(k): v for k, v in bias.positions.items()}
    return data


def _confidence_block(rows: list[EvalResult], seed: int) -> dict[str, Any] | None:
    """Accuracy by confidence and the selective accuracy at ``COVERAGE`` (None: no confidences)."""
    rated = [r for r in rows if r.confidence is not None]
    if not rated:
        return None
    conf = [float(r.confidence or 0.0) for r in rated]
    right = [bool(r.correct) for r in rated]
    sel = selective_ci(conf, right, COVERAGE, seed=seed)
    return {
        "n": len(rated),
        "coverage": COVERAGE,
        "selective_accuracy": {"mean": sel.mean, "low": sel.low, "high": sel.high, "n": sel.n},
        "accuracy": _interval([float(x) for x in right], seed),
        "mean_confidence": sum(conf) / len(conf),
        "bins": [
            {
                "low": b.low,
                "high": b.high,
                "mean_confidence": b.mean_confidence,
                "accuracy": b.accuracy.model_dump(),
            }
            for b in confidence_bins(conf, right, seed=seed)
        ],
    }


def _confidence(rows: list[EvalResult], halves: Mapping[str, str], seed: int) -> dict[str, Any] | None:
    overall = _confidence_block(rows, seed)
    if overall is None:
        return None
    out: dict[str, Any] = {"all": overall}
    for half in ("dev", "test"):
        block = _confidence_block([r for r in rows if halves.get(r.source) == half], seed)
        if block is not None:
            out[half] = block
    return out


def _retried(rows: list[EvalResult]) -> int:
    """Decisions that took more model calls than the run's fewest on items of as many options: an
    answer asked again (results written before calls were kept count none)."""
    least: dict[int, int] = {}
    for r in rows:
        if r.calls > 0:
            least[r.n_choices] = min(least.get(r.n_choices, r.calls), r.calls)
    return sum(1 for r in rows if r.calls > 0 and r.calls > least[r.n_choices])


def _subsets(opinion: list[EvalResult], distinctive: Collection[str], seed: int) -> dict[str, Any] | None:
    if not opinion:
        return None
    return {
        "all": _block(opinion, seed),
        "distinctive": _block([r for r in opinion if r.item_id in distinctive], seed),
    }


def summarise(
    results: Iterable[EvalResult],
    *,
    seed: int = 0,
    distinctive: Collection[str] = (),
    halves: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Accuracy (all items and valid-only), graded score, OpinionQA top-answer rate, with 95% CIs;
    per algorithm x backbone, and broken down per attribute, direction and file.

    Also, per run: OpinionQA on all its items and on the ``distinctive`` ones (item ids whose
    group's answer differs from the population's), ``per_subset``; the chosen positions
    (``position_bias``); ``missing`` (population baseline items with no other group); and, for
    runs whose decisions carry a confidence, accuracy by confidence and the selective accuracy at
    ``COVERAGE`` (``confidence``), over all items and per half (``halves``: file -> dev or test)."""
    groups: dict[tuple[str, str], list[EvalResult]] = defaultdict(list)
    for r in results:
        groups[(r.algorithm, r.backbone)].append(r)
    distinctive = set(distinctive)
    out: dict[str, Any] = {"runs": []}
    for (algorithm, backbone), rows in sorted(groups.items()):
        ok = [r for r in rows if r.error is None and r.correct is not None]
        seconds = sorted(r.seconds for r in ok)
        deciders = sorted({r.decider for r in rows if r.decider})
        out["runs"].append(
            {
                "algorithm": algorithm,
                "backbone": backbone,
                "decider": deciders[0] if deciders else None,
                "errors": sum(1 for r in rows if r.error is not None),
                "retried": _retried(ok),
                "missing": sum(1 for r in ok if r.missing),
                "overall": _block(ok, seed),
                "per_attribute": _breakdown(ok, "attribute", seed),
                "per_direction": _breakdown(ok, "direction", seed),
                "per_file": _breakdown(ok, "source", seed),
                "per_subset": _subsets([r for r in ok if r.direction == "group"], distinctive, seed),
                "position_bias": _position_bias(ok),
                "confidence": _confidence(ok, halves or {}, seed),
                "median_seconds": seconds[len(seconds) // 2] if seconds else None,
                "tokens": {
                    "prompt": sum(r.prompt_tokens for r in ok),
                    "completion": sum(r.completion_tokens for r in ok),
                },
            }
        )
    population = [run for run in out["runs"] if run["algorithm"] == POPULATION]
    if population:
        out["population_missing"] = sum(run["missing"] for run in population)
    return out


def _fmt(block: dict[str, Any] | None, key: str = "accuracy") -> str:
    if not block or not block.get(key) or block[key]["n"] == 0:
        return "-"
    iv = block[key]
    return f"{iv['mean']:.2f} [{iv['low']:.2f}, {iv['high']:.2f}] (n={iv['n']})"


def _protocol_lines(summary: dict[str, Any]) -> list[str]:
    config = summary.get("config") or {}
    split = summary.get("split") or {}
    lines = []
    if config:
        lines.append(f"- holdout: `{config.get('holdout', 'scenario')}`")
    if split:
        lines.append(f"- split: `{split.get('name')}` ({split.get('rule')})")
    if summary.get("files"):
        lines.append(f"- files: {', '.join(f'`{f}`' for f in summary['files'])}")
    if "population_missing" in summary:
        lines.append(
            f"- population baseline: {summary['population_missing']} OpinionQA items had no other group "
            "answering the same question (counted as not correct)"
        )
    return ["## Protocol", "", *lines, ""] if lines else []


def _subset_lines(runs: list[dict[str, Any]]) -> list[str]:
    with_subsets = [run for run in runs if run.get("per_subset")]
    if not with_subsets:
        return []
    lines = ["", "## OpinionQA: the group's most common answer, all and distinctive items", ""]
    lines.append("| algorithm | backbone | all items | distinctive items |")
    lines.append("| --- | --- | --- | --- |")
    for run in with_subsets:
        sub = run["per_subset"]
        lines.append(
            f"| {run['algorithm']} | {run['backbone']} | {_fmt(sub['all'])} | {_fmt(sub['distinctive'])} |"
        )
    return lines


def _bias_lines(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["", "## Positional bias", ""]
    lines.append(
        "| algorithm | backbone | most frequent position, two-option items (0.5 = none) | "
        "two-option counts (1st, 2nd) | chosen positions, all items |"
    )
    lines.append("| --- | --- | --- | --- | --- |")
    for run in runs:
        bias = run.get("position_bias") or {}
        share = bias.get("most_frequent_share")
        shown = "-" if share is None else f"{share:.2f} (n={bias['two_option_n']})"
        counts = ", ".join(str(c) for c in bias.get("two_option_counts", []))
        positions = ", ".join(f"{k}: {v}" for k, v in (bias.get("positions") or {}).items()) or "-"
        lines.append(f"| {run['algorithm']} | {run['backbone']} | {shown} | {counts} | {positions} |")
    return lines


def _confidence_lines(runs: list[dict[str, Any]]) -> list[str]:
    rated = [run for run in runs if run.get("confidence")]
    if not rated:
        return []
    lines = ["", f"## Confidence: selective accuracy at {COVERAGE:.0%} coverage, accuracy by confidence", ""]
    lines.append(
        f"| algorithm | backbone | half | accuracy | the {COVERAGE:.0%} most confident | "
        "by confidence (mean confidence: accuracy [95% CI] (n)) |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for run in rated:
        for half, block in run["confidence"].items():
            bins = "; ".join(
                f"{b['low']:.1f}-{b['high']:.1f} ({b['mean_confidence']:.2f}): {_fmt(b)}"
                for b in block["bins"]
            )
            lines.append(
                f"| {run['algorithm']} | {run['backbone']} | {half} | {_fmt(block)} | "
                f"{_fmt(block, 'selective_accuracy')} | {bins} |"
            )
    return lines


def summary_markdown(summary: dict[str, Any]) -> str:
    """The protocol, a table algorithm x attribute (accuracy with 95% CI), overall metrics, target
    directions, OpinionQA subsets and positional bias."""
    runs = summary["runs"]
    attributes = sorted({a for run in runs for a in run["per_attribute"]})
    lines = [*_protocol_lines(summary), "## Alignment accuracy by attribute (mean [95% CI])", ""]
    lines.append("| algorithm | backbone | " + " | ".join(attributes) + " |")
    lines.append("| --- | --- | " + " | ".join("---" for _ in attributes) + " |")
    for run in runs:
        cells = [_fmt(run["per_attribute"].get(a)) for a in attributes]
        lines.append(f"| {run['algorithm']} | {run['backbone']} | " + " | ".join(cells) + " |")
    lines += ["", "## Overall", ""]
    lines.append(
        "| algorithm | backbone | accuracy | accuracy (valid only) | graded score | "
        "top answer (OpinionQA) | errors | median s/item |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        o = run["overall"]
        med = "-" if run["median_seconds"] is None else f"{run['median_seconds']:.2f}"
        lines.append(
            f"| {run['algorithm']} | {run['backbone']} | {_fmt(o)} | {_fmt(o, 'accuracy_valid_only')} | "
            f"{_fmt(o, 'graded')} | {_fmt(o, 'top_answer_rate')} | {run['errors']} | {med} |"
        )
    lines += ["", "## By target direction", ""]
    directions = sorted({d for run in runs for d in run["per_direction"]})
    lines.append("| algorithm | backbone | " + " | ".join(directions) + " |")
    lines.append("| --- | --- | " + " | ".join("---" for _ in directions) + " |")
    for run in runs:
        cells = [_fmt(run["per_direction"].get(d)) for d in directions]
        lines.append(f"| {run['algorithm']} | {run['backbone']} | " + " | ".join(cells) + " |")
    lines += _subset_lines(runs)
    lines += _bias_lines(runs)
    lines += _confidence_lines(runs)
    return "\n".join(lines) + "\n"
