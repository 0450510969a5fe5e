"""``align eval``: run algorithms over datasets, resumable, with baselines and reports."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from alignment.algorithms import get_algorithm
from alignment.datasets import DatasetRecord, load_file
from alignment.errors import AlignError, InputError, UnknownName
from alignment.evaluation import (
    BASELINES,
    POPULATION,
    SPLIT_RULE,
    EvalItem,
    EvalResult,
    items_for_record,
    population_result,
    score_result,
    split_part,
    summarise,
    with_population,
)
from alignment.models import Attribute, Decision, Scenario
from assistant.decisions.requests import DecideRequest
from assistant.decisions.service import DecisionService
from assistant.evaluation.report import write_reports
from assistant.settings import Settings

__all__ = [
    "EvalConfig",
    "Run",
    "load_items",
    "plan_runs",
    "portable_path",
    "read_results",
    "run_evaluation",
    "split_files",
]

RESULTS = "results.jsonl"
RUN_FILE = "run.json"  # the options a resume must keep (holdout, split)


class EvalConfig(BaseModel):
    data: list[Path] = Field(min_length=1)
    algorithms: list[str] = Field(default_factory=list)
    deciders: list[str] = Field(default_factory=list)  # neither: the settings' default decider
    holdout: Literal["scenario", "attribute", "group"] = "scenario"
    split: Literal["dev", "test", "all"] = "all"
    backbone: str | None = None
    targets: dict[str, float] | None = None
    limit: int | None = Field(default=None, ge=1)
    concurrency: int = Field(default=1, ge=1, le=64)
    seed: int = 0
    out: Path
    resume: bool = False
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per algorithm
    # baselines left out of this run (only the costly one may be: unaligned asks the model per item)
    skip_baselines: list[Literal["unaligned"]] = Field(default_factory=list)


class Skipped(BaseModel):
    item_id: str
    reason: str


class Run(BaseModel):
    """One column of the evaluation: an algorithm, or a named decider (labelled by its name)."""

    label: str
    algorithm: str
    decider: str | None = None
    backbone: str  # the label of its results ("none" for random)


def portable_path(path: Path | str) -> str:
    """A path for a report: relative to the current directory when inside it, else the file name."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def split_files(files: Sequence[Path], split: str) -> list[Path]:
    """The files of one half (SPLIT_RULE); "all" keeps every file. Each file's half depends only on
    the .json names in its folder, so a file given by itself lands where its folder puts it."""
    if split == "all":
        return list(files)
    listings: dict[Path, list[str]] = {}
    out = []
    for path in files:
        folder = path.parent
        if folder not in listings:
            listings[folder] = sorted(p.name for p in folder.glob("*.json") if p.is_file())
        if split_part(listings[folder], path.name) == split:
            out.append(path)
    return out


def load_items(config: EvalConfig) -> tuple[list[EvalItem], list[Skipped]]:
    """Items of the split's files (``limit`` records per file), and the records that are not valid
    questions. OpinionQA items carry their population choice, pooled over every record of the
    other groups' files of the split."""
    items: list[EvalItem] = []
    skipped: list[Skipped] = []
    every: list[DatasetRecord] = []
    for path in split_files(config.data, config.split):
        records = load_file(path)
        every.extend(records)
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
    return with_population(items, every), skipped


def plan_runs(config: EvalConfig, settings: Settings) -> list[Run]:
    """The baselines, then the algorithms and deciders asked for; neither: the default decider of the
    backbone (``Settings.decider_for``), or the default algorithm when no default decider is named."""
    algorithms, deciders = list(config.algorithms), list(config.deciders)
    if not algorithms and not deciders:
        decider_for = getattr(settings, "decider_for", None)  # settings-like test doubles have none
        default = decider_for(config.backbone) if decider_for else getattr(settings, "default_decider", None)
        if default:
            deciders = [default]
        else:
            algorithms = [settings.default_algorithm]
    backbone = config.backbone or settings.default_backbone
    baselines = [b for b in BASELINES if b not in config.skip_baselines]
    runs = {name: Run(label=name, algorithm=name, backbone=backbone) for name in [*baselines, *algorithms]}
    for name in deciders:
        decider = settings.deciders.get(name)
        if decider is None:
            raise UnknownName("decider", name, list(settings.deciders))
        if name in runs or name == POPULATION:
            raise InputError(
                f"decider {name!r} has the name of an algorithm or baseline of this evaluation; "
                "rename the decider in the settings, or evaluate them in two runs"
            )
        runs[name] = Run(
            label=name,
            algorithm=decider.algorithm,
            decider=name,
            backbone=config.backbone or decider.backbone or settings.default_backbone,
        )
    return [
        r if _uses_backbone(r.algorithm) else r.model_copy(update={"backbone": "none"}) for r in runs.values()
    ]


def _uses_backbone(algorithm: str) -> bool:
    """Whether the algorithm needs a model (random and embedding-only algorithms do not)."""
    try:
        cls = get_algorithm(algorithm)
    except AlignError:
        return algorithm != "random"  # an unknown name fails clearly when it runs
    return bool(getattr(cls, "uses_backbone", algorithm != "random"))


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
    service: DecisionService,
    item: EvalItem,
    run: Run,
    config: EvalConfig,
    attributes: dict[str, Attribute] | None = None,
) -> EvalResult:
    seed = config.seed + zlib.crc32(item.item_id.encode()) % 1_000_000
    base = {
        "item_id": item.item_id,
        "algorithm": run.label,
        "backbone": run.backbone,
        "source": item.source,
        "domain": item.domain,
        "attribute": item.attribute,
        "direction": item.direction,
        "target": item.target,
        "holdout": config.holdout,
        "decider": run.decider,
        "n_choices": len(item.choices),
    }
    try:
        decision = service.decide(
            DecideRequest(
                scenario=item.text,
                choices=item.choices,
                target=item.target,
                algorithm=None if run.decider else run.algorithm,
                decider=run.decider,
                backbone=config.backbone or (None if run.decider else service.settings.default_backbone),
                params=config.params.get(run.label, {}),
                seed=seed,
                scenario_id=item.scenario_id,  # leave-one-out: never its own example
                domain=item.domain,
                holdout=config.holdout,
            ),
            attributes,
            budget=False,  # an admin's evaluation: bounded by eval_max_decisions, not a person's budget
        )
    except AlignError as exc:
        return EvalResult(**base, error=f"{type(exc).__name__}: {exc}")
    result = EvalResult(
        **base,
        choice_index=decision.choice_index,
        seconds=decision.timings.get("total_s", 0.0),
        prompt_tokens=decision.usage.prompt_tokens,
        completion_tokens=decision.usage.completion_tokens,
        calls=decision.usage.calls,
        scores=[s.score for s in decision.scores],
        prompt_ids=_prompt_ids(decision),
        confidence=decision.confidence,
        confidence_features=_features(decision),
    )
    return score_result(item, result)


def _features(decision: Decision) -> dict[str, float] | None:
    features = decision.extra.get("confidence_features")
    if not isinstance(features, dict):
        return None
    return {k: float(v) for k, v in features.items() if isinstance(v, int | float)}


def file_halves(files: Sequence[Path]) -> dict[str, str]:
    """Each file's half (dev or test, SPLIT_RULE), by its name as results name their source."""
    halves: dict[str, str] = {}
    for half in ("dev", "test"):
        for path in split_files(files, half):
            halves[path.name] = half
    return halves


def _check_resume(config: EvalConfig, results_path: Path) -> None:
    """A resume must keep the holdout and the split of the results it continues."""
    run_file = config.out / RUN_FILE
    stored = {"holdout": "scenario", "split": "all"}
    if run_file.exists():
        stored.update(json.loads(run_file.read_text()))
    holdouts = {r.holdout for r in read_results(results_path)}
    if holdouts:
        stored["holdout"] = holdouts.pop() if len(holdouts) == 1 else "several"
    for option in ("holdout", "split"):
        if stored[option] != getattr(config, option):
            raise InputError(
                f"{config.out} holds results of --{option} {stored[option]}, not {getattr(config, option)}; "
                f"resume with --{option} {stored[option]}, or use another --out"
            )


def run_evaluation(
    service: DecisionService,
    config: EvalConfig,
    *,
    progress: bool = True,
    max_items: int | None = None,
    before_item: Callable[[], None] | None = None,
    attributes: dict[str, Attribute] | None = None,
) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``config.out``; returns the summary.

    ``max_items``: the most decisions it may ask for (items times runs, resumed ones not counted);
    past it, nothing runs. ``before_item()`` runs before each decision (one at a time when given):
    the server's evaluations wait there for people's decisions, and stop there (it raises) when
    their caller went away. ``attributes``: definitions the targets are described with, beside the
    service's own (``align eval`` hands the store's).
    """
    runs = plan_runs(config, service.settings)
    config = config.model_copy(
        update={
            "algorithms": [r.label for r in runs if r.decider is None and r.label not in BASELINES],
            "deciders": [r.label for r in runs if r.decider is not None],
        }
    )
    backbone = config.backbone or service.settings.default_backbone
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS
    if results_path.exists() and results_path.stat().st_size:
        if not config.resume:
            raise InputError(
                f"{results_path} already holds results; pass --resume to continue it, or use another --out"
            )
        _check_resume(config, results_path)
    items, skipped = load_items(config)
    if not items:
        raise InputError("no evaluation items in the given files; check --data, --split and --limit")
    (out / RUN_FILE).write_text(json.dumps({"holdout": config.holdout, "split": config.split}))
    done = {r.key for r in read_results(results_path)}
    opinion = [item for item in items if item.direction == "group"]
    baseline = [
        population_result(item, config.holdout)
        for item in opinion
        if (item.item_id, POPULATION, "none", config.holdout) not in done
    ]
    todo = [
        (item, run)
        for run in runs
        for item in items
        if (item.item_id, run.label, run.backbone, config.holdout) not in done
    ]
    if max_items is not None and len(todo) > max_items:
        raise InputError(
            f"this evaluation asks for {len(todo)} decisions (records, their targets, and every "
            f"algorithm and baseline); this server runs at most {max_items} in one evaluation: "
            "pick fewer files, algorithms or records per file"
        )
    lock = threading.Lock()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="item", desc="eval", dynamic_ncols=True)

    with results_path.open("a", encoding="utf-8") as handle:
        if baseline:
            handle.write("".join(r.model_dump_json() + "\n" for r in baseline))
            handle.flush()
            os.fsync(handle.fileno())

        def work(pair: tuple[EvalItem, Run]) -> None:
            if before_item is not None:
                before_item()
            result = _run_one(service, pair[0], pair[1], config, attributes)
            line = result.model_dump_json() + "\n"
            with lock:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
                if bar is not None:
                    bar.update(1)

        concurrent = (
            before_item is None  # one item at a time when each waits for its turn
            and config.concurrency > 1
            and service.backbones.get(backbone).capabilities.concurrent
        )
        if concurrent:
            with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
                list(pool.map(work, todo))
        else:
            for pair in todo:
                work(pair)
    if bar is not None:
        bar.close()
    results = read_results(results_path)
    summary = summarise(
        results,
        seed=config.seed,
        distinctive={i.item_id for i in items if i.distinctive},
        halves=file_halves(config.data),
    )
    summary["config"] = json.loads(config.model_dump_json())
    summary["config"]["data"] = [portable_path(p) for p in config.data]
    summary["config"]["out"] = portable_path(config.out)
    summary["split"] = {"name": config.split, "rule": SPLIT_RULE}
    summary["files"] = [portable_path(p) for p in split_files(config.data, config.split)]
    summary["skipped"] = [s.model_dump() for s in skipped]
    summary["items"] = len(items)
    if opinion:
        summary["opinionqa"] = {
            "items": len(opinion),
            "distinctive": sum(1 for i in opinion if i.distinctive),
            "population_missing": sum(1 for i in opinion if i.population is None),
        }
    write_reports(summary, out)
    return summary
