"""``align eval``: run algorithms over datasets, resumable, with baselines and reports."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from alignment.datasets import load_file
from alignment.errors import AlignError, InputError
from alignment.evaluation import BASELINES, EvalItem, EvalResult, items_for_record, score_result, summarise
from alignment.models import Decision, Scenario
from assistant.eval_report import write_reports
from assistant.service import DecideRequest, DecisionService

__all__ = ["EvalConfig", "load_items", "read_results", "run_evaluation"]

RESULTS = "results.jsonl"


class EvalConfig(BaseModel):
    data: list[Path] = Field(min_length=1)
    algorithms: list[str] = Field(min_length=1)
    backbone: str | None = None
    targets: dict[str, float] | None = None
    limit: int | None = Field(default=None, ge=1)
    concurrency: int = Field(default=1, ge=1, le=64)
    seed: int = 0
    out: Path
    resume: bool = False
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per algorithm


class Skipped(BaseModel):
    item_id: str
    reason: str


def load_items(config: EvalConfig) -> tuple[list[EvalItem], list[Skipped]]:
    """Items of every file (``limit`` records per file), and the records that are not valid questions."""
    items: list[EvalItem] = []
    skipped: list[Skipped] = []
    for path in config.data:
        records = load_file(path)
        for record in records[: config.limit] if config.limit else records:
            try:
                Scenario(text=record.text, choices=record.choices)
            except ValidationError as exc:
                reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                skipped.append(Skipped(item_id=f"{record.source}:{record.scenario_id}", reason=reason))
                continue
            if not record.attributes:
                skipped.append(
                    Skipped(item_id=f"{record.source}:{record.scenario_id}", reason="no attribute scores")
                )
                continue
            items.extend(items_for_record(record, config.targets))
    return items, skipped


def read_results(path: Path) -> list[EvalResult]:
    """Results written so far; a torn last line (a crash mid-write) is cut off the file."""
    if not path.exists():
        return []
    good: list[EvalResult] = []
    keep_bytes = 0
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                good.append(EvalResult.model_validate_json(raw))
            except ValidationError:
                break
            keep_bytes += len(raw)
    if keep_bytes != path.stat().st_size:
        with path.open("r+b") as handle:
            handle.truncate(keep_bytes)
    return good


def _prompt_ids(decision: Decision) -> list[str]:
    return [
        hashlib.sha1(json.dumps([m.model_dump() for m in messages], sort_keys=True).encode()).hexdigest()[:12]
        for messages in decision.prompts
    ]


def _run_one(
    service: DecisionService, item: EvalItem, algorithm: str, backbone: str, config: EvalConfig
) -> EvalResult:
    seed = config.seed + zlib.crc32(item.item_id.encode()) % 1_000_000
    base = {
        "item_id": item.item_id,
        "algorithm": algorithm,
        "backbone": backbone if algorithm != "random" else "none",
        "source": item.source,
        "attribute": item.attribute,
        "direction": item.direction,
        "target": item.target,
    }
    try:
        decision = service.decide(
            DecideRequest(
                scenario=item.text,
                choices=item.choices,
                target=item.target,
                algorithm=algorithm,
                backbone=backbone,
                params=config.params.get(algorithm, {}),
                seed=seed,
                scenario_id=item.scenario_id,  # leave-one-out: never its own example
                domain=item.domain,
            )
        )
    except AlignError as exc:
        return EvalResult(**base, error=f"{type(exc).__name__}: {exc}")
    result = EvalResult(
        **base,
        choice_index=decision.choice_index,
        seconds=decision.timings.get("total_s", 0.0),
        prompt_tokens=decision.usage.prompt_tokens,
        completion_tokens=decision.usage.completion_tokens,
        scores=[s.score for s in decision.scores],
        prompt_ids=_prompt_ids(decision),
    )
    return score_result(item, result)


def run_evaluation(service: DecisionService, config: EvalConfig, *, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``config.out``; returns the summary."""
    backbone = config.backbone or service.settings.default_backbone
    algorithms = list(dict.fromkeys([*BASELINES, *config.algorithms]))
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS
    if results_path.exists() and results_path.stat().st_size and not config.resume:
        raise InputError(
            f"{results_path} already holds results; pass --resume to continue it, or use another --out"
        )
    items, skipped = load_items(config)
    if not items:
        raise InputError("no evaluation items in the given files; check --data and --limit")
    done = {r.key for r in read_results(results_path)}
    todo = [
        (item, algorithm)
        for algorithm in algorithms
        for item in items
        if (item.item_id, algorithm, backbone if algorithm != "random" else "none") not in done
    ]
    lock = threading.Lock()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="item", desc="eval", dynamic_ncols=True)

    with results_path.open("a", encoding="utf-8") as handle:

        def work(pair: tuple[EvalItem, str]) -> None:
            result = _run_one(service, pair[0], pair[1], backbone, config)
            line = result.model_dump_json() + "\n"
            with lock:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
                if bar is not None:
                    bar.update(1)

        concurrent = config.concurrency > 1 and service.backbones.get(backbone).capabilities.concurrent
        if concurrent:
            with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
                list(pool.map(work, todo))
        else:
            for pair in todo:
                work(pair)
    if bar is not None:
        bar.close()
    results = read_results(results_path)
    summary = summarise(results, seed=config.seed)
    summary["config"] = json.loads(config.model_dump_json())
    summary["skipped"] = [s.model_dump() for s in skipped]
    summary["items"] = len(items)
    write_reports(summary, out)
    return summary
