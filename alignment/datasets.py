"""Loader of ALIGN ``input_output`` JSON files (triage and OpinionQA).

A file is a JSON list of records::

    {"input": {"scenario_id": ..., "state": "scenario text", "full_state": {...},
               "choices": [{"action_id": ..., "unstructured": "choice text",
                            "kdma_association": {attribute: score}}]},
     "label": [...], "output": ...}

``output`` comes in two shapes: triage files hold ``{"choice": i, "action": {...}}`` (or a
list of them when several answers are equally right), OpinionQA files hold the chosen action
itself (a list with one action). Scores are normalised to [0, 1]: triage scores are on 0..10,
OpinionQA (and the adept/soartech triage files) already on 0..1. The scale is detected per file
(any score above 1 means 0..10) unless given.

``parse_records`` is pure (plain data in, records out); ``load_file`` reads one file.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from alignment.errors import InputError
from alignment.models import Example, Scenario

__all__ = [
    "DOMAINS",
    "EVERYDAY_EXAMPLE_FILES",
    "DatasetRecord",
    "dataset_files",
    "detect_scale",
    "load_file",
    "parse_records",
]

DOMAINS = ("triage", "opinionqa")
# a file in a folder of this name belongs to that domain (its answers have the triage shape)
FOLDER_DOMAINS = ("everyday",)
# the everyday example decisions scored on the seed packs' values (datasets/everyday/README.md): stored
# as examples and used to calibrate; the folder's other files measure values read without examples
EVERYDAY_EXAMPLE_FILES = ("everyday_packs_input_output.json", "values_everyday_input_output.json")


class DatasetRecord(BaseModel):
    """One question of a dataset file, scores normalised to [0, 1]."""

    model_config = ConfigDict(frozen=True)

    source: str  # file name (no directory): ids stay the same wherever the file lives
    index: int  # position in the file
    scenario_id: str  # unique within the file: input.scenario_id, qualified by the probe/scene id
    group_id: str  # input.scenario_id as written (files reuse it for many probes)
    domain: str
    text: str
    choices: list[str]
    scores: list[dict[str, float]]  # per choice: attribute -> score in [0, 1] (may be empty)
    oracle_choice: int | None = None  # the dataset's answer (the first, when it lists several)
    oracle_choices: list[int] = []

    @property
    def attributes(self) -> list[str]:
        """Every attribute some choice is scored on, sorted."""
        return sorted({name for per_choice in self.scores for name in per_choice})

    def content_hash(self) -> str:
        """Hash of what the record says (text, choices, scores, answer), not where it is."""
        payload = json.dumps(
            [self.text, self.choices, self.scores, self.oracle_choice, self.domain],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def example_id(self) -> str:
        """Stable id: source file + scenario id + content hash (re-importing adds nothing)."""
        key = f"{self.source}\x00{self.scenario_id}\x00{self.content_hash()}"
        return "ex-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]

    def to_example(self) -> Example:
        return Example(
            id=self.example_id(),
            text=self.text,
            choices=list(self.choices),
            scores=[dict(s) for s in self.scores],
            chosen=self.oracle_choice,
            domain=self.domain,
            source=self.source,
            scenario_id=self.scenario_id,
        )

    def to_scenario(self) -> Scenario:
        """The record as a decision request; InputError if it is not a valid one (duplicate choices...)."""
        try:
            return Scenario(text=self.text, choices=self.choices, id=self.scenario_id, domain=self.domain)
        except ValidationError as exc:
            msg = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise InputError(f"{self.source} record {self.index}: not a valid scenario: {msg}") from None


def _fail(source: str, index: int | None, problem: str) -> InputError:
    where = f"{source} record {index}" if index is not None else source
    return InputError(f"{where}: {problem}; fix the file or leave it out")


def _raw_scores(choice: dict[str, Any], source: str, index: int, c: int) -> dict[str, float]:
    kdma = choice.get("kdma_association")
    if kdma is None:
        return {}
    if not isinstance(kdma, dict):
        raise _fail(source, index, f"choice {c}: kdma_association must be an object of attribute -> score")
    out: dict[str, float] = {}
    for name, value in kdma.items():
        if not isinstance(name, str) or not name.strip():
            raise _fail(source, index, f"choice {c}: an attribute name is empty")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _fail(source, index, f"choice {c}: score of {name!r} is {value!r}, not a finite number")
        if value < 0:
            raise _fail(source, index, f"choice {c}: score of {name!r} is {value}, below 0")
        out[name.strip()] = float(value)
    return out


def detect_scale(data: list[Any]) -> float:
    """10.0 if any score in the file is above 1 (triage 0..10), else 1.0 (already 0..1)."""
    for record in data:
        choices = record.get("input", {}).get("choices", []) if isinstance(record, dict) else []
        for choice in choices if isinstance(choices, list) else []:
            kdma = choice.get("kdma_association") if isinstance(choice, dict) else None
            if isinstance(kdma, dict):
                for value in kdma.values():
                    if isinstance(value, int | float) and not isinstance(value, bool) and value > 1.0:
                        return 10.0
    return 1.0


def _oracle(
    output: Any, choices: list[dict[str, Any]], source: str, index: int
) -> tuple[list[int], str | None]:
    """(answer indices, domain the shape implies) from either ``output`` shape."""
    if output is None:
        return [], None
    items = output if isinstance(output, list) else [output]
    indices: list[int] = []
    shape: str | None = None
    for item in items:
        if not isinstance(item, dict):
            raise _fail(source, index, "output must be an object or a list of objects")
        if "choice" in item:  # triage: {"choice": i, "action": {...}}
            shape = "triage"
            i = item["choice"]
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(choices):
                raise _fail(
                    source, index, f"output choice {i!r} is not an index of its {len(choices)} choices"
                )
        else:  # OpinionQA: the chosen action itself
            shape = "opinionqa"
            i = _match_action(item, choices)
            if i is None:
                raise _fail(source, index, "the output action matches none of the choices")
        if i not in indices:
            indices.append(i)
    return indices, shape


def _match_action(action: dict[str, Any], choices: list[dict[str, Any]]) -> int | None:
    action_id = action.get("action_id")
    if action_id is not None:
        for i, choice in enumerate(choices):
            if choice.get("action_id") == action_id:
                return i
    text = action.get("unstructured")
    if isinstance(text, str):
        for i, choice in enumerate(choices):
            if choice.get("unstructured") == text:
                return i
    return None


def _scenario_id(inp: dict[str, Any], source: str, index: int) -> tuple[str, str]:
    group = inp.get("scenario_id")
    if group is None:
        return f"{source}#{index}", f"{source}#{index}"
    group = str(group)
    full = inp.get("full_state")
    scene = None
    if isinstance(full, dict) and isinstance(full.get("meta_info"), dict):
        scene = full["meta_info"].get("scene_id")
    return (f"{group}/{scene}" if scene is not None else group), group


def _parse_record(
    record: Any, source: str, index: int, scale: float, domain: str | None
) -> tuple[DatasetRecord, str | None]:
    if not isinstance(record, dict) or not isinstance(record.get("input"), dict):
        raise _fail(source, index, "a record must be an object with an 'input' object")
    inp = record["input"]
    text = inp.get("state")
    if not isinstance(text, str) or not text.strip():
        full = inp.get("full_state")
        text = full.get("unstructured") if isinstance(full, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise _fail(source, index, "input.state (the scenario text) is missing or empty")
    raw_choices = inp.get("choices")
    if not isinstance(raw_choices, list) or len(raw_choices) < 2:
        raise _fail(source, index, "input.choices must be a list of at least 2 choices")
    texts: list[str] = []
    scores: list[dict[str, float]] = []
    for c, choice in enumerate(raw_choices):
        if not isinstance(choice, dict):
            raise _fail(source, index, f"choice {c} is not an object")
        unstructured = choice.get("unstructured")
        if not isinstance(unstructured, str) or not unstructured.strip():
            raise _fail(source, index, f"choice {c} has no text ('unstructured')")
        texts.append(unstructured.strip())
        raw = _raw_scores(choice, source, index, c)
        normalised = {}
        for name, value in raw.items():
            v = value / scale
            if v > 1.0 + 1e-9:
                raise _fail(
                    source, index, f"choice {c}: score of {name!r} is {value}, above the scale {scale:g}"
                )
            normalised[name] = min(v, 1.0)
        scores.append(normalised)
    oracle, shape = _oracle(record.get("output"), raw_choices, source, index)
    scenario_id, group_id = _scenario_id(inp, source, index)
    parsed = DatasetRecord(
        source=source,
        index=index,
        scenario_id=scenario_id,
        group_id=group_id,
        domain=domain or shape or "generic",
        text=text.strip(),
        choices=texts,
        scores=scores,
        oracle_choice=oracle[0] if oracle else None,
        oracle_choices=oracle,
    )
    return parsed, shape


def parse_records(
    data: Any, source: str, *, domain: str | None = None, scale: float | None = None
) -> list[DatasetRecord]:
    """Records of one file's parsed JSON. Every record is checked before any is returned.

    ``domain``: given, or implied by the file's ``output`` shape (triage / opinionqa).
    ``scale``: the score range's top (10 or 1); detected per file when not given.
    """
    if not isinstance(data, list):
        raise _fail(source, None, "the file must hold a JSON list of records")
    if not data:
        raise _fail(source, None, "the file holds no records")
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise InputError(f"score scale {scale!r} must be a positive number (10 for triage, 1 for OpinionQA)")
    use_scale = scale if scale is not None else detect_scale(data)
    parsed = [_parse_record(r, source, i, use_scale, domain) for i, r in enumerate(data)]
    if domain is None:  # one domain per file: the shape its answers have
        shapes = {shape for _, shape in parsed if shape is not None}
        file_domain = shapes.pop() if len(shapes) == 1 else "generic"
        return [r.model_copy(update={"domain": file_domain}) for r, _ in parsed]
    return [r for r, _ in parsed]


def load_file(
    path: str | Path, *, domain: str | None = None, scale: float | None = None
) -> list[DatasetRecord]:
    """Read and check one ALIGN ``input_output`` JSON file (all records or an InputError).

    ``domain``: given, else the folder's name if it is one of ``FOLDER_DOMAINS``, else implied by
    the answers' shape."""
    path = Path(path)
    if domain is None and path.parent.name in FOLDER_DOMAINS:
        domain = path.parent.name
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: not valid JSON ({exc}); fix the file or leave it out") from None
    return parse_records(data, path.name, domain=domain, scale=scale)


def dataset_files(paths: Sequence[str | Path]) -> list[Path]:
    """The ``*.json`` files named, directories searched recursively; InputError for a bad path."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.rglob("*.json"))
            if not found:
                raise InputError(f"{path} holds no .json files; give ALIGN input_output JSON files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path} does not exist; give ALIGN input_output JSON files or directories")
    return files
