"""Writes the everyday pack's example decisions and the moral-clarity sets (run from the repository root).

- datasets/everyday/sources/values_examples.txt -> datasets/everyday/values_everyday_input_output.json
- datasets/everyday/sources/moral_clarity.txt -> datasets/everyday/moral_clarity_{dev,test}_input_output.json
  (dilemmas alternate between the halves, every wording of a dilemma in the same half)

The option high on a record's first value comes first in every other record of that value, so
position says nothing about the answer.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
OUT = Path("datasets/everyday")


def _spec(text: str) -> dict[str, int]:
    """``honesty+ financial_security-`` -> {value: 1 if the first option is high on it else 0}."""
    out = {}
    for part in text.split():
        name, sign = part[:-1], part[-1]
        if sign not in "+-":
            raise ValueError(f"bad value spec {part!r}")
        out[name] = 1 if sign == "+" else 0
    return out


def _record(sid: str, scenario: str, first: str, second: str, spec: dict[str, int], swap: bool) -> dict:
    options = [
        (first, {k: float(v) for k, v in spec.items()}),
        (second, {k: float(1 - v) for k, v in spec.items()}),
    ]
    if swap:
        options.reverse()
    choices = [
        {"action_id": f"{sid}.action_{i}", "unstructured": text, "kdma_association": scores}
        for i, (text, scores) in enumerate(options)
    ]
    lead = next(iter(spec))
    high = max(range(2), key=lambda i: choices[i]["kdma_association"][lead])
    return {
        "input": {"scenario_id": sid, "state": scenario, "choices": choices},
        "label": [c["kdma_association"] for c in choices],
        "output": [{"choice": high, "action": choices[high]}],
    }


def _lines(path: Path) -> list[str]:
    return [
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]


def examples() -> list[dict]:
    seen: Counter[str] = Counter()
    records = []
    for n, line in enumerate(_lines(HERE / "values_examples.txt"), 1):
        spec_text, scenario, first, second = (p.strip() for p in line.split("|"))
        spec = _spec(spec_text)
        lead = next(iter(spec))
        swap = seen[lead] % 2 == 1
        seen[lead] += 1
        records.append(_record(f"everyday-values-{n:03d}", scenario, first, second, spec, swap))
    return records


def moral_clarity() -> tuple[list[dict], list[dict]]:
    halves: tuple[list[dict], list[dict]] = ([], [])
    dilemma = -1
    spec: dict[str, int] = {}
    count = 0
    for line in _lines(HERE / "moral_clarity.txt"):
        if line.startswith("@"):
            dilemma += 1
            spec = _spec(line[1:])
            continue
        scenario, keep, breaks = (p.strip() for p in line.split("|"))
        count += 1
        sid = f"moral-clarity-{dilemma + 1:03d}-{count:03d}"
        halves[dilemma % 2].append(_record(sid, scenario, keep, breaks, spec, swap=count % 2 == 0))
    return halves


def main() -> None:
    OUT.joinpath("values_everyday_input_output.json").write_text(json.dumps(examples(), indent=1) + "\n")
    dev, test = moral_clarity()
    OUT.joinpath("moral_clarity_dev_input_output.json").write_text(json.dumps(dev, indent=1) + "\n")
    OUT.joinpath("moral_clarity_test_input_output.json").write_text(json.dumps(test, indent=1) + "\n")


if __name__ == "__main__":
    main()
