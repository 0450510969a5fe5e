"""The instruct model as a zero-shot reader of everyday values, measured on the everyday dev files.

For each two-option record and each value it is scored on, the 0.5B instruct model (in process,
llama-cpp-python, one thread) is asked which option a person who "<the value's high text>" would
choose (the high target) and, separately, one who "<the value's low text>" would (the low target).
P(A) and P(B) of the next token after the ChatML prompt are read with the options in both orders and
averaged, so a preference for a position cancels. Writes runs/instruct-reader/results.jsonl and
summary.md; compares with value-fit's per-item choices from `align eval` results.jsonl files.

    PYTHONPATH=. python docs/results/instruct_reader.py --limit 16 \
      --model DATA_DIR/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
      --valuefit runs/mc-dev-off/results.jsonl --valuefit runs/novel-off/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np

FILES = ("moral_clarity_dev_input_output.json", "everyday_novel_input_output.json")
SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."  # Qwen's default


def definitions(novel: bool) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for path in sorted(Path("profiles/seeds").glob("*.json")):
        for a in json.loads(path.read_text())["attributes"]:
            out.setdefault(a["name"], a)
    if novel:  # the novel values as an admin defines them (they replace the pack's honesty, generosity)
        for a in json.loads(Path("tests/fixtures/novel_attributes.json").read_text()):
            out[a["name"]] = a
    return out


def chatml(user: str) -> str:
    return (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )


def question(state: str, options: list[str], person: str) -> str:
    return (
        f"{state}\n\nA. {options[0]}\nB. {options[1]}\n\n"
        f"Which option would a person who {person} choose? Answer with the letter A or B only."
    )


class Reader:
    def __init__(self, model: str, threads: int) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=model, n_ctx=1024, n_threads=threads, n_batch=512, verbose=False)
        self.ids = [self.llm.tokenize(x.encode(), add_bos=False, special=False)[0] for x in ("A", "B")]

    def letter_probs(self, prompt: str) -> tuple[float, float]:
        """P(A), P(B) of the next token (renormalised over the two), reusing the cached prefix."""
        llm = self.llm
        tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        cached = list(llm.input_ids[: llm.n_tokens])
        k = 0
        while k < min(len(cached), len(tokens)) and cached[k] == tokens[k]:
            k += 1
        k = min(k, len(tokens) - 1)
        llm.n_tokens = k
        llm.eval(tokens[k:])
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        la, lb = float(logits[self.ids[0]]), float(logits[self.ids[1]])
        m = max(la, lb)
        ea, eb = math.exp(la - m), math.exp(lb - m)
        # share of the two letters in the whole next-token distribution
        total = float(np.exp(logits - logits.max()).sum()) * math.exp(logits.max() - m)
        self.mass = (ea + eb) / total
        return ea / (ea + eb), eb / (ea + eb)

    def read(self, state: str, options: list[str], person: str) -> tuple[list[float], float]:
        """P(option 0 chosen), P(option 1 chosen), averaged over the two option orders; letter mass."""
        a0, b0 = self.letter_probs(chatml(question(state, options, person)))
        m0 = self.mass
        a1, b1 = self.letter_probs(chatml(question(state, options[::-1], person)))
        return [(a0 + b1) / 2, (b0 + a1) / 2], (m0 + self.mass) / 2


def wilson(k: int, n: int) -> str:
    if n == 0:
        return "n/a (n=0)"
    z, p = 1.96, k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return f"{p:.2f} [{c - h:.2f}, {c + h:.2f}] (n={n})"


def row(name: str, flags: list[bool]) -> str:
    return f"| {name} | {wilson(sum(flags), len(flags))} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=0, help="records per file, evenly spaced (0: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--valuefit", action="append", default=[], help="align eval results.jsonl")
    ap.add_argument("--out", default="runs/instruct-reader")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--summary-only", action="store_true", help="summarise the results already written")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.jsonl"
    done: dict[str, dict] = {}
    if args.resume and results_path.exists():
        for line in results_path.read_text().splitlines():
            r = json.loads(line)
            done[r["item_id"]] = r
    if args.summary_only:
        rows = [json.loads(x) for x in results_path.read_text().splitlines()]
        summarise(rows, args.valuefit, out, float("nan"))
        return
    t0 = time.perf_counter()
    reader = Reader(args.model, args.threads)
    load_s = time.perf_counter() - t0
    with results_path.open("a" if args.resume else "w") as fh:
        for fname in FILES:
            defs = definitions(novel="novel" in fname)
            records = json.loads((Path("datasets/everyday") / fname).read_text())
            if args.limit:  # evenly spaced records, so the sample spans the file
                step = max(1, len(records) // args.limit)
                records = records[::step][: args.limit]
            for rec in records:
                inp = rec["input"]
                options = [c["unstructured"] for c in inp["choices"]]
                values = sorted({k for c in inp["choices"] for k in c["kdma_association"]})
                for value in values:
                    kd = [c["kdma_association"].get(value) for c in inp["choices"]]
                    if None in kd or kd[0] == kd[1]:
                        continue
                    for direction in ("high", "low"):
                        item_id = f"{fname}:{inp['scenario_id']}:{value}:{direction}"
                        if item_id in done:
                            continue
                        right = int(np.argmax(kd)) if direction == "high" else int(np.argmin(kd))
                        t = time.perf_counter()
                        probs, mass = reader.read(inp["state"], options, defs[value][direction])
                        r = {
                            "item_id": item_id,
                            "source": fname,
                            "attribute": value,
                            "direction": direction,
                            "probs": probs,
                            "letter_mass": mass,
                            "choice_index": int(np.argmax(probs)),
                            "right_index": right,
                            "correct": int(np.argmax(probs)) == right,
                            "seconds": time.perf_counter() - t,
                        }
                        done[item_id] = r
                        fh.write(json.dumps(r) + "\n")
                        fh.flush()
    summarise(list(done.values()), args.valuefit, out, load_s)


def summarise(items: list[dict], valuefit_paths: list[str], out: Path, load_s: float) -> None:
    vf: dict[str, dict] = {}
    for p in valuefit_paths:
        for line in Path(p).read_text().splitlines():
            r = json.loads(line)
            if r["algorithm"] == "aligned":
                vf[r["item_id"]] = r
    lines = ["| set | instruct reader |", "| --- | --- |"]
    for fname in FILES:
        sub = [r for r in items if r["source"] == fname]
        lines.append(row(fname.split("_input")[0], [r["correct"] for r in sub]))
        for d in ("high", "low"):
            name = f"{fname.split('_input')[0]}, {d} target"
            lines.append(row(name, [r["correct"] for r in sub if r["direction"] == d]))
    lines.append(row("both files", [r["correct"] for r in items]))
    both = [r for r in items if r["item_id"] in vf]
    lines += [
        "",
        "On the items value-fit also read (its `aligned` rows):",
        "",
        "| on these items | accuracy |",
        "| --- | --- |",
    ]
    lines.append(row("instruct reader", [r["correct"] for r in both]))
    lines.append(row("value-fit", [bool(vf[r["item_id"]]["correct"]) for r in both]))
    agree = [r for r in both if r["choice_index"] == vf[r["item_id"]]["choice_index"]]
    lines.append(row("where the two agree (either)", [r["correct"] for r in agree]))
    dis = [r for r in both if r["choice_index"] != vf[r["item_id"]]["choice_index"]]
    lines.append(row("where they disagree: instruct reader right", [r["correct"] for r in dis]))
    lines.append(f"| agreement | {wilson(len(agree), len(both))} |")
    # the reader as a confidence signal: its margin's top half, and value-fit by the reader's margin
    ranked = sorted(both, key=lambda r: -abs(r["probs"][0] - r["probs"][1]))
    top = ranked[: len(ranked) // 2]
    lines.append(row("instruct reader, its more confident half", [r["correct"] for r in top]))
    vf_top = [bool(vf[r["item_id"]]["correct"]) for r in top]
    lines.append(row("value-fit, on the reader's more confident half", vf_top))
    # random resamples for a bootstrap interval of the difference
    rng = random.Random(0)
    diffs = []
    for _ in range(2000):
        s = [rng.choice(both) for _ in both] if both else []
        diffs.append(sum(r["correct"] - bool(vf[r["item_id"]]["correct"]) for r in s) / max(len(s), 1))
    diffs.sort()
    if both:
        d = sum(r["correct"] - bool(vf[r["item_id"]]["correct"]) for r in both) / len(both)
        ci = f"{d:+.2f} [{diffs[50]:+.2f}, {diffs[1949]:+.2f}] (n={len(both)})"
        lines.append(f"| instruct - value-fit (bootstrap 95%) | {ci} |")
    secs = sorted(r["seconds"] for r in items)
    vsecs = sorted(vf[r["item_id"]]["seconds"] for r in both) or [0.0]
    lines += [
        "",
        f"Seconds per decision (two calls, both orders): median {secs[len(secs) // 2]:.2f}, "
        f"max {secs[-1]:.2f}; value-fit median {vsecs[len(vsecs) // 2]:.3f}; "
        f"model load {load_s:.1f} s; "
        f"letters' share of the next-token mass: median "
        f"{sorted(r['letter_mass'] for r in items)[len(items) // 2]:.2f}.",
    ]
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
