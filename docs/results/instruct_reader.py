"""The 0.5B instruct model as a zero-shot reader of everyday values (see instruct-reader.md).

Per two-option record and value: "Which option would a person who <high text> (low text) choose?",
P(A)/P(B) of the next token in both option orders, averaged. Compared with value-fit's `aligned` rows
of `align eval` results.jsonl files. Writes OUT/results.jsonl and OUT/summary.md.
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
    if novel:  # the novel values as an admin defines them
        out |= {a["name"]: a for a in json.loads(Path("tests/fixtures/novel_attributes.json").read_text())}
    return out


def prompt(state: str, options: list[str], person: str) -> str:
    user = (
        f"{state}\n\nA. {options[0]}\nB. {options[1]}\n\n"
        f"Which option would a person who {person} choose? Answer with the letter A or B only."
    )
    return (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )


class Reader:
    def __init__(self, model: str, threads: int) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=model, n_ctx=1024, n_threads=threads, verbose=False)
        self.ids = [self.llm.tokenize(x.encode(), add_bos=False)[0] for x in "AB"]

    def letters(self, text: str) -> tuple[float, float, float]:
        """P(A), P(B) renormalised over the two, and their share of the next-token mass."""
        llm, tokens = self.llm, self.llm.tokenize(text.encode(), add_bos=False, special=True)
        k = 0  # reuse the cached prefix
        while k < min(llm.n_tokens, len(tokens) - 1) and llm.input_ids[k] == tokens[k]:
            k += 1
        llm.n_tokens = k
        llm.eval(tokens[k:])
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(float)
        p = np.exp(logits - logits.max())
        a, b = p[self.ids[0]], p[self.ids[1]]
        return a / (a + b), b / (a + b), (a + b) / p.sum()

    def read(self, state: str, options: list[str], person: str) -> tuple[list[float], float]:
        a0, b0, m0 = self.letters(prompt(state, options, person))
        a1, b1, m1 = self.letters(prompt(state, options[::-1], person))
        return [(a0 + b1) / 2, (b0 + a1) / 2], (m0 + m1) / 2


def wilson(k: int, n: int) -> str:
    if not n:
        return "n=0"
    z, p = 1.96, k / n
    c, h = (
        (p + z * z / (2 * n)) / (1 + z * z / n),
        z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n),
    )
    return f"{p:.2f} [{c - h:.2f}, {c + h:.2f}] (n={n})"


def row(name: str, flags: list[bool]) -> str:
    return f"| {name} | {wilson(sum(flags), len(flags))} |"


def run(args: argparse.Namespace, path: Path, done: dict[str, dict]) -> float:
    t0 = time.perf_counter()
    reader = Reader(args.model, args.threads)
    load_s = time.perf_counter() - t0
    with path.open("a") as fh:
        for fname in args.file or FILES:
            defs = definitions(novel="novel" in fname)
            records = json.loads((Path("datasets/everyday") / fname).read_text())
            if args.limit:  # evenly spaced records, so the sample spans the file
                records = records[:: max(1, len(records) // args.limit)][: args.limit]
            for inp in (r["input"] for r in records):
                options = [c["unstructured"] for c in inp["choices"]]
                for value in sorted({k for c in inp["choices"] for k in c["kdma_association"]}):
                    kd = [c["kdma_association"].get(value) for c in inp["choices"]]
                    if None in kd or kd[0] == kd[1]:
                        continue
                    for direction in ("high", "low"):
                        item_id = f"{fname}:{inp['scenario_id']}:{value}:{direction}"
                        if item_id in done:
                            continue
                        t = time.perf_counter()
                        probs, mass = reader.read(inp["state"], options, defs[value][direction])
                        right = int(np.argmax(kd) if direction == "high" else np.argmin(kd))
                        r = {"item_id": item_id, "source": fname, "direction": direction, "probs": probs}
                        r |= {
                            "letter_mass": mass,
                            "choice_index": int(np.argmax(probs)),
                            "right_index": right,
                        }
                        r |= {"correct": int(np.argmax(probs)) == right, "seconds": time.perf_counter() - t}
                        done[item_id] = r
                        fh.write(json.dumps(r) + "\n")
                        fh.flush()
    return load_s


def summarise(items: list[dict], valuefit_paths: list[str], out: Path, load_s: float) -> None:
    vf = {}
    for p in valuefit_paths:
        rows = (json.loads(x) for x in Path(p).read_text().splitlines())
        vf |= {r["item_id"]: r for r in rows if r["algorithm"] == "aligned"}
    lines = ["| set | instruct reader |", "| --- | --- |"]
    for fname in FILES:
        sub, name = [r for r in items if r["source"] == fname], fname.split("_input")[0]
        lines.append(row(name, [r["correct"] for r in sub]))
        for d in ("high", "low"):
            lines.append(row(f"{name}, {d} target", [r["correct"] for r in sub if r["direction"] == d]))
    lines.append(row("both files", [r["correct"] for r in items]))
    both = [r for r in items if r["item_id"] in vf]
    lines += ["", "| on the items value-fit also read | accuracy |", "| --- | --- |"]

    def vf_right(r: dict) -> bool:
        return bool(vf[r["item_id"]]["correct"])

    def same(r: dict) -> bool:
        return r["choice_index"] == vf[r["item_id"]]["choice_index"]

    # the reader's margin |P(option 0) - P(option 1)|, averaged over both orders
    top = sorted(both, key=lambda r: -abs(r["probs"][0] - r["probs"][1]))[: len(both) // 2]
    lines += [
        row("instruct reader", [r["correct"] for r in both]),
        row("value-fit", [vf_right(r) for r in both]),
        row("agreement", [same(r) for r in both]),
        row("where the two agree", [r["correct"] for r in both if same(r)]),
        row("where they disagree: instruct reader right", [r["correct"] for r in both if not same(r)]),
        row("instruct reader, its more confident half", [r["correct"] for r in top]),
        row("value-fit, on the reader's more confident half", [vf_right(r) for r in top]),
    ]
    if both:
        rng, diff = random.Random(0), [r["correct"] - vf_right(r) for r in both]
        boot = sorted(sum(rng.choices(diff, k=len(diff))) / len(diff) for _ in range(2000))
        ci = f"{sum(diff) / len(diff):+.2f} [{boot[50]:+.2f}, {boot[1949]:+.2f}] (n={len(diff)})"
        lines.append(f"| instruct - value-fit (bootstrap 95%) | {ci} |")
    secs = sorted(r["seconds"] for r in items)
    vsecs = sorted(r["seconds"] for r in vf.values()) or [0.0]  # all its rows in the files given
    mass = sorted(r["letter_mass"] for r in items)
    margins = sorted(abs(r["probs"][0] - r["probs"][1]) for r in items)
    lines += [
        "",
        f"Seconds per decision (two calls): median {secs[len(secs) // 2]:.2f}, max {secs[-1]:.2f}; value-fit "
        f"median {vsecs[len(vsecs) // 2]:.3f}; model load {load_s:.1f} s; A+B next-token mass median "
        f"{mass[len(mass) // 2]:.2f}; reader's margin median {margins[len(margins) // 2]:.3f}, "
        f"max {margins[-1]:.3f}.",
    ]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--limit", type=int, default=0, help="records per file, evenly spaced (0: all)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--file", action="append", help="only these files (default: both)")
    ap.add_argument("--valuefit", action="append", default=[], help="align eval results.jsonl")
    ap.add_argument("--out", default="runs/instruct-reader")
    ap.add_argument("--summary-only", action="store_true", help="summarise OUT/results.jsonl")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    done = {r["item_id"]: r for r in map(json.loads, path.read_text().splitlines())} if path.exists() else {}
    load_s = float("nan") if args.summary_only else run(args, path, done)
    summarise(list(done.values()), args.valuefit, out, load_s)


if __name__ == "__main__":
    main()
