# ruff: noqa: E402, SIM115, B007  (a one-off research probe, kept as it was run)
"""Probe: option-continuation log-likelihood contrast (high vs low value prompt) with the embedded model."""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(ROOT))
from alignment.datasets import load_file
from assistant.models_local import embedded_model_path

defs = {}
for f in ["triage", "moral_foundations", "schwartz"]:
    for a in json.load(open(ROOT / "profiles" / "seeds" / f"{f}.json"))["attributes"]:
        defs[a["name"]] = a
for a in json.load(open(ROOT / "docs" / "eval" / "novel_attributes.json")):
    defs[a["name"]] = a

llm = Llama(
    model_path=str(embedded_model_path()), n_ctx=2048, logits_all=False, verbose=False, n_threads=2, seed=0
)

from assistant.backbones.llamacpp.llama_context import LlamaContext

ctx = LlamaContext(llm, "probe")


def logp(prompt: str, cont: str) -> tuple[float, int]:
    p = llm.tokenize(prompt.encode(), add_bos=True)
    c = ctx.tokenize(cont)
    ctx.start(p)
    tot = 0.0
    for k, tok in enumerate(c):
        row = np.asarray(ctx.logits(), dtype=float)
        m = row.max()
        lse = m + math.log(np.exp(row - m).sum())
        tot += float(row[tok] - lse)
        ctx.feed([tok])
    return tot, len(c)


TEMPL = {
    "t1": "{label}: {description}\nSomeone who {pole} faces this situation.\n{scenario}\nThey decide to:",
    "t2": "Situation: {scenario}\nA person who {pole} would choose:",
}


def run(path, templ, limit=None):
    recs = load_file(path)
    out = []
    t0 = time.time()
    for r in recs[:limit]:
        sc = r
        attrs = r.attributes
        for a in attrs:
            d = defs.get(a)
            if d is None:
                continue
            rows = []
            for pole in ("high", "low"):
                prompt = TEMPL[templ].format(
                    label=d["label"], description=d["description"], pole=d[pole], scenario=sc.text
                )
                rows.append([logp(prompt, " " + c)[0] for c in sc.choices])
            out.append(
                {
                    "id": r.scenario_id if hasattr(r, "scenario_id") else None,
                    "attr": a,
                    "hi": rows[0],
                    "lo": rows[1],
                    "scores": [ch.get(a) for ch in r.scores],
                }
            )
    print(path, templ, len(out), "items", round(time.time() - t0, 1), "s", file=sys.stderr)
    return out


if __name__ == "__main__":
    path, templ, outp = sys.argv[1], sys.argv[2], sys.argv[3]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
    json.dump(run(path, templ, limit), open(outp, "w"))
