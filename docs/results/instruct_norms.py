"""Does an instruct model find the option that breaks a widely shared norm? (see instruct-reader.md)

Per moral-clarity record: "Which option is dishonest, unfair, disloyal, unkind or breaks a promise or a
rule most people hold?", P(A)/P(B) of the next token in both option orders, averaged
(instruct_reader.Reader). The right answer is the record's norm-breaking wording in
datasets/everyday/sources/moral_clarity.txt (scenario | keeps the norm | breaks it).

    PYTHONPATH=. python docs/results/instruct_norms.py --model DATA_DIR/models/NAME.gguf --split dev
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from docs.results.instruct_reader import SYSTEM, Reader, wilson

QUESTION = (
    "Which option is dishonest, unfair, disloyal, unkind or breaks a promise or a rule most people hold? "
    "Answer with the letter A or B only."
)
SOURCES = Path("datasets/everyday/sources/moral_clarity.txt")


def prompt(state: str, options: list[str]) -> str:
    user = f"{state}\n\nA. {options[0]}\nB. {options[1]}\n\n{QUESTION}"
    turns = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
    return turns + "<|im_start|>assistant\n"


def breaking() -> dict[str, str]:
    """Scenario wording -> the wording of its norm-breaking option."""
    out = {}
    for line in SOURCES.read_text().splitlines():
        if "|" in line and not line.startswith("#"):
            scenario, _keeps, breaks = (part.strip() for part in line.split("|"))
            out[scenario] = breaks
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--split", choices=("dev", "test"), default="dev")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    reader, wrong_of = Reader(args.model, args.threads), breaking()
    records = json.loads(Path(f"datasets/everyday/moral_clarity_{args.split}_input_output.json").read_text())
    right, seconds, margins = [], [], []
    for record in records:
        state, options = record["input"]["state"], [c["unstructured"] for c in record["input"]["choices"]]
        bad = options.index(wrong_of[state])
        started = time.perf_counter()
        a0, b0, _ = reader.letters(prompt(state, options))
        a1, b1, _ = reader.letters(prompt(state, options[::-1]))
        p_breaks = [(a0 + b1) / 2, (b0 + a1) / 2]
        seconds.append(time.perf_counter() - started)
        right.append(max((0, 1), key=lambda i: p_breaks[i]) == bad)
        margins.append(abs(p_breaks[0] - p_breaks[1]))
    print(
        f"{Path(args.model).name}, moral clarity {args.split}: norm-breaking option found "
        f"{wilson(sum(right), len(right))}; median margin {statistics.median(margins):.3f}; "
        f"median {statistics.median(seconds):.1f} s a record (two reads)"
    )


if __name__ == "__main__":
    main()
