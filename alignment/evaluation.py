"""Evaluation items and summaries (pure): what to ask, and how to aggregate the answers."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from alignment.metrics import bootstrap_ci, score_item

__all__ = [
    "EvalItem",
    "EvalResult",
    "RecordLike",
    "items_for_record",
    "parse_targets_spec",
    "score_result",
    "summarise",
    "summary_markdown",
]

BASELINES = ("unaligned", "random")


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


class EvalResult(BaseModel):
    """One line of results.jsonl."""

    item_id: str
    algorithm: str
    backbone: str
    source: str
    attribute: str
    direction: str
    target: dict[str, float]
    choice_index: int | None = None
    correct: bool | None = None
    valid: bool | None = None
    graded: float | None = None
    picked_top: bool | None = None
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    scores: list[float | None] = []
    error: str | None = None
    prompt_ids: list[str] = []

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.item_id, self.algorithm, self.backbone)


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


def summarise(results: Iterable[EvalResult], *, seed: int = 0) -> dict[str, Any]:
    """Accuracy (all items and valid-only), graded score, OpinionQA top-answer rate, with 95% CIs;
    per algorithm x backbone, and broken down per attribute, direction and file."""
    groups: dict[tuple[str, str], list[EvalResult]] = defaultdict(list)
    for r in results:
        groups[(r.algorithm, r.backbone)].append(r)
    out: dict[str, Any] = {"runs": []}
    for (algorithm, backbone), rows in sorted(groups.items()):
        ok = [r for r in rows if r.error is None and r.correct is not None]
        seconds = sorted(r.seconds for r in ok)
        out["runs"].append(
            {
                "algorithm": algorithm,
                "backbone": backbone,
                "errors": sum(1 for r in rows if r.error is not None),
                "overall": _block(ok, seed),
                "per_attribute": _breakdown(ok, "attribute", seed),
                "per_direction": _breakdown(ok, "direction", seed),
                "per_file": _breakdown(ok, "source", seed),
                "median_seconds": seconds[len(seconds) // 2] if seconds else None,
                "tokens": {
                    "prompt": sum(r.prompt_tokens for r in ok),
                    "completion": sum(r.completion_tokens for r in ok),
                },
            }
        )
    return out


def _fmt(block: dict[str, Any] | None, key: str = "accuracy") -> str:
    if not block or not block.get(key) or block[key]["n"] == 0:
        return "-"
    iv = block[key]
    return f"{iv['mean']:.2f} [{iv['low']:.2f}, {iv['high']:.2f}] (n={iv['n']})"


def summary_markdown(summary: dict[str, Any]) -> str:
    """Table: algorithm x attribute (accuracy with 95% CI), then overall metrics."""
    runs = summary["runs"]
    attributes = sorted({a for run in runs for a in run["per_attribute"]})
    lines = ["## Alignment accuracy by attribute (mean [95% CI])", ""]
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
    return "\n".join(lines) + "\n"
